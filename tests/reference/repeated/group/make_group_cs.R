# REML references for SAS GROUP= with correlated structures, on the complete Orthodont data
# (../orthodont_long.csv), fixed part distance ~ agef + Sex shared by both sexes (Male the reference level),
# residuals repeated over age within Subject, a separate covariance per Sex:
#
#   CS   SAS: REPEATED / TYPE=CS SUBJECT=Subject GROUP=Sex
#        nlme: lme(random = list(Subject = pdDiag(~ 0 + Sex)), weights = varIdent(form = ~ 1 | Sex)).
#        Each subject belongs to one sex, so its random intercept has the variance of its sex (the CS
#        covariance of that sex) and its residuals the variance of its sex: sigma2_g I + tau2_g J, SAS's CS
#        per group, whenever both covariances are positive (they are here).
#   DIAG SAS: REPEATED / TYPE=VC ... with a variance per age and sex;
#        nlme: gls(weights = varIdent(form = ~ 1 | agef * Sex)).
#   UN   SAS: REPEATED agef / TYPE=UN SUBJECT=Subject GROUP=Sex. nlme has no covariance per group for a
#        correlation structure, so the REML criterion is maximised here directly (a log-Cholesky factor per
#        sex, beta profiled by GLS, optim Nelder-Mead then BFGS); the same code, run with one CS block per
#        sex, must reproduce nlme's CS-by-group REML log-likelihood above (field un_code_check_cs_loglik),
#        which checks its REML constant.
#
# Stored per case: REML log-likelihood, -2 REML log-likelihood (SAS's "-2 Res Log Likelihood"), fixed
# estimates and model-based standard errors, and the covariance per sex (CS: variance and covariance as SAS
# names them, sigma2_g + tau2_g and tau2_g).
# Run:  Rscript tests/reference/repeated/group/make_group_cs.R   (writes group_cs.json beside it)
# Made with R 4.2.2, nlme 3.1-162, jsonlite 1.8.4 (also stored in the JSON).
suppressPackageStartupMessages({ library(nlme); library(jsonlite) })
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
setwd(here)

d <- read.csv("../orthodont_long.csv")
d$agef <- factor(d$agef, levels = c(8, 10, 12, 14))
d$Sex <- relevel(factor(d$Sex), "Male")
d$Subject <- factor(d$Subject)
d <- d[order(d$Subject, d$age), ]
lctl <- lmeControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-10, msTol = 1e-12, niterEM = 100)
gctl <- glsControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-10, msTol = 1e-12)

fixed <- function(m) list(terms = names(fixef_or_coef(m)), estimate = unname(fixef_or_coef(m)),
                          std_error = unname(sqrt(diag(vcov(m)))))
fixef_or_coef <- function(m) if (inherits(m, "lme")) fixef(m) else coef(m)
pack <- function(m, extra = list()) {
  ll <- as.numeric(logLik(m))
  c(list(loglik = ll, minus2_reml_loglik = -2 * ll, df = attr(logLik(m), "df")), fixed(m), extra)
}

# CS per sex
cs <- lme(distance ~ agef + Sex, data = d, random = list(Subject = pdDiag(~ 0 + Sex)),
          weights = varIdent(form = ~ 1 | Sex), method = "REML", control = lctl)
G <- diag(pdMatrix(cs$modelStruct$reStruct[[1]])) * cs$sigma^2  # full precision (VarCorr rounds to text)
tau2 <- setNames(unname(G[c("SexMale", "SexFemale")]), c("Male", "Female"))
ratio <- coef(cs$modelStruct$varStruct, unconstrained = FALSE, allCoef = TRUE)
sig2 <- setNames(cs$sigma^2 * ratio[c("Male", "Female")]^2, c("Male", "Female"))
cs_cov <- lapply(c(Female = "Female", Male = "Male"), function(g)
  list(variance = unname(sig2[g] + tau2[g]), covariance = unname(tau2[g]), residual = unname(sig2[g])))

# The last model of the SAS/STAT PROC MIXED documentation's "Repeated Measures" example (Pothoff-Roy = these
# data): MODEL y = Gender Age Gender*Age; REPEATED / TYPE=CS SUBJECT=Person GROUP=Gender; METHOD=ML. Its ML
# log-likelihood does not depend on how the fixed effects are coded.
cs_doc <- lme(distance ~ Sex * age, data = d, random = list(Subject = pdDiag(~ 0 + Sex)),
              weights = varIdent(form = ~ 1 | Sex), method = "ML", control = lctl)

# DIAG per sex and age
diag_fit <- gls(distance ~ agef + Sex, data = d, weights = varIdent(form = ~ 1 | agef * Sex), method = "REML",
                control = gctl)

# UN per sex by a direct REML fit
X <- model.matrix(~ agef + Sex, d)
y <- d$distance
subj <- split(seq_len(nrow(d)), d$Subject)
sex_of <- vapply(subj, function(r) as.character(d$Sex[r[1]]), "")
m2reml <- function(Vs) {  # Vs: list(Male = 4 x 4, Female = 4 x 4); every subject has the 4 visits
  Vi <- lapply(Vs, solve); ld <- vapply(Vs, function(V) as.numeric(determinant(V)$modulus), 0)
  XtVX <- 0; XtVy <- 0; logdet <- 0
  for (s in names(subj)) {
    r <- subj[[s]]; g <- sex_of[[s]]
    XtVX <- XtVX + t(X[r, ]) %*% Vi[[g]] %*% X[r, ]; XtVy <- XtVy + t(X[r, ]) %*% Vi[[g]] %*% y[r]
    logdet <- logdet + ld[[g]]
  }
  b <- solve(XtVX, XtVy); q <- 0
  for (s in names(subj)) { r <- subj[[s]]; e <- y[r] - X[r, ] %*% b; q <- q + t(e) %*% Vi[[sex_of[[s]]]] %*% e }
  list(value = logdet + as.numeric(determinant(XtVX)$modulus) + as.numeric(q) + (length(y) - ncol(X)) * log(2 * pi),
       beta = drop(b), se = sqrt(diag(solve(XtVX))))
}
un_V <- function(p) { L <- matrix(0, 4, 4); L[lower.tri(L, diag = TRUE)] <- p; diag(L) <- exp(diag(L)); L %*% t(L) }
cs_V <- function(p) exp(p[1]) * diag(4) + exp(p[2]) * matrix(1, 4, 4)
direct <- function(Vfun, k, starts) {
  f <- function(p) tryCatch(m2reml(list(Male = Vfun(p[1:k]), Female = Vfun(p[(k + 1):(2 * k)])))$value,
                            error = function(e) 1e10)
  best <- NULL
  for (p0 in starts) {
    o <- optim(p0, f, control = list(maxit = 40000, reltol = 1e-13))
    o <- optim(o$par, f, method = "BFGS", control = list(maxit = 5000, reltol = 1e-15))
    if (is.null(best) || o$value < best$value) best <- o
  }
  best
}
chol_start <- function(g) {
  L <- t(chol(cov(matrix(resid(diag_fit)[d$Sex == g], ncol = 4, byrow = TRUE))))
  p <- L[lower.tri(L, diag = TRUE)]; p[c(1, 5, 8, 10)] <- log(p[c(1, 5, 8, 10)]); p
}
un <- direct(un_V, 10, list(c(chol_start("Male"), chol_start("Female"))))
un_fit <- m2reml(list(Male = un_V(un$par[1:10]), Female = un_V(un$par[11:20])))
cs_check <- direct(cs_V, 2, list(log(c(sig2["Male"], tau2["Male"], sig2["Female"], tau2["Female"]))))
stopifnot(abs(-cs_check$value / 2 - as.numeric(logLik(cs))) < 1e-4)

out <- list(
  data = "../orthodont_long.csv", fixed = "distance ~ agef + Sex (Male the reference level)",
  cs = pack(cs, list(covariance = cs_cov)),
  diag = pack(diag_fit, list(sd_ratio = as.list(coef(diag_fit$modelStruct$varStruct, unconstrained = FALSE)),
                             sigma = diag_fit$sigma)),
  un = list(loglik = -un$value / 2, minus2_reml_loglik = un$value, df = 20 + ncol(X), terms = colnames(X),
            estimate = unname(un_fit$beta), std_error = unname(un_fit$se),
            covariance = list(Female = un_V(un$par[11:20]), Male = un_V(un$par[1:10]))),
  cs_sas_doc_ml = list(model = "distance ~ Sex * age, CS per Sex, ML", loglik = as.numeric(logLik(cs_doc)),
                       minus2_loglik = -2 * as.numeric(logLik(cs_doc)), df = attr(logLik(cs_doc), "df")),
  un_code_check_cs_loglik = -cs_check$value / 2,
  versions = list(R = R.version.string, nlme = as.character(packageVersion("nlme")),
                  jsonlite = as.character(packageVersion("jsonlite"))))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "group_cs.json")
