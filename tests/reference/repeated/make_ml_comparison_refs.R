# ML references for the residual-structure comparison (results block "structure_comparison", which always
# fits by ML: structures are compared by ML AIC/BIC, the final model is then fitted by REML).
#
# Model: distance ~ agef + Sex on orthodont_long.csv (nlme's Orthodont, agef = age as a factor, Male the
# reference level of Sex), residuals repeated over age within Subject, nlme::gls(method = "ML"):
#   ID = no structure, DIAG = varIdent per age, CS = corCompSymm, CSH = corCompSymm + varIdent,
#   AR1 = corAR1 over the visit number, ARH1 = corAR1 + varIdent, TOEP = corARMA(p = 3) (4 visits: a banded
#   Toeplitz correlation is an AR(3) in nlme's parameterisation), TOEPH = corARMA(p = 3) + varIdent,
#   UN = corSymm + varIdent, SP(POW) = corCAR1 over age, SP(EXP) = corExp over age, SP(GAU) = corGaus over
#   age (no nugget; the index is age, so distances are in years).
# ANTE1 has no nlme structure: its ML log-likelihood is maximised here directly (profiled GLS likelihood of
# the 4 x 4 antedependence covariance, Nelder-Mead then BFGS from several starts); the same code is run for UN and
# must reproduce nlme's UN log-likelihood, which checks it (the field "ante1_check_un_loglik").
#
# Run:  Rscript tests/reference/repeated/make_ml_comparison_refs.R   (writes ml_comparison.json beside it)
# Made with R 4.2.2, nlme 3.1-162, jsonlite 1.8.4 (the versions are also stored in the JSON).
suppressPackageStartupMessages({ library(nlme); library(jsonlite) })
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
setwd(here)

d <- read.csv("orthodont_long.csv")
d$agef <- factor(d$agef, levels = c(8, 10, 12, 14))
d$Sex <- relevel(factor(d$Sex), "Male")
d$Subject <- factor(d$Subject)
d <- d[order(d$Subject, d$age), ]
het <- varIdent(form = ~ 1 | agef)
ctl <- glsControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-10, msTol = 1e-10)

fit_ml <- function(correlation = NULL, weights = NULL)
  gls(distance ~ agef + Sex, data = d, correlation = correlation, weights = weights, method = "ML",
      control = ctl)
fits <- list(
  ID = fit_ml(),
  DIAG = fit_ml(weights = het),
  CS = fit_ml(corCompSymm(form = ~ 1 | Subject)),
  CSH = fit_ml(corCompSymm(form = ~ 1 | Subject), het),
  AR1 = fit_ml(corAR1(form = ~ occ | Subject)),
  ARH1 = fit_ml(corAR1(form = ~ occ | Subject), het),
  TOEP = fit_ml(corARMA(form = ~ occ | Subject, p = 3)),
  TOEPH = fit_ml(corARMA(form = ~ occ | Subject, p = 3), het),
  UN = fit_ml(corSymm(form = ~ occ | Subject), het),
  `SP(POW)` = fit_ml(corCAR1(form = ~ age | Subject)),
  `SP(EXP)` = fit_ml(corExp(form = ~ age | Subject)),
  `SP(GAU)` = fit_ml(corGaus(form = ~ age | Subject)))
row <- function(m) {
  ll <- logLik(m)
  list(loglik = as.numeric(ll), df = attr(ll, "df"), aic = AIC(m), bic = BIC(m),
       estimate = unname(coef(m)), std_error = unname(sqrt(diag(vcov(m)))))
}
rows <- lapply(fits, row)

# ANTE1 (and UN as its check) by a direct ML fit: beta profiled out by GLS, covariance of each subject's
# 4 visits built from the parameters, -2 loglik minimised by optim.
X <- model.matrix(~ agef + Sex, d)
y <- d$distance
subj <- split(seq_len(nrow(d)), d$Subject)
neg2ll <- function(V) {
  Vi <- solve(V)
  XtVX <- 0; XtVy <- 0
  for (r in subj) { XtVX <- XtVX + t(X[r, ]) %*% Vi %*% X[r, ]; XtVy <- XtVy + t(X[r, ]) %*% Vi %*% y[r] }
  b <- solve(XtVX, XtVy)
  q <- 0
  for (r in subj) { e <- y[r] - X[r, ] %*% b; q <- q + t(e) %*% Vi %*% e }
  list(value = length(subj) * as.numeric(determinant(V)$modulus) + as.numeric(q) + length(y) * log(2 * pi),
       beta = b, se = sqrt(diag(solve(XtVX))))
}
ante1_V <- function(par) {  # log standard deviations, then atanh of the 3 neighbour correlations
  s <- exp(par[1:4]); rho <- tanh(par[5:7])
  R <- diag(4)
  for (i in 1:3) for (j in (i + 1):4) R[i, j] <- R[j, i] <- prod(rho[i:(j - 1)])
  outer(s, s) * R
}
un_V <- function(par) {  # log-Cholesky factor
  L <- matrix(0, 4, 4); L[lower.tri(L, diag = TRUE)] <- par
  diag(L) <- exp(diag(L))
  L %*% t(L)
}
direct_fit <- function(Vfun, starts) {
  best <- NULL
  for (p0 in starts) {
    f <- function(p) tryCatch(neg2ll(Vfun(p))$value, error = function(e) 1e10)  # a singular step: refused
    o <- optim(p0, f, control = list(maxit = 20000, reltol = 1e-12))  # Nelder-Mead to get near, then BFGS
    o <- optim(o$par, f, method = "BFGS", control = list(maxit = 5000, reltol = 1e-14))
    if (is.null(best) || o$value < best$value) best <- o
  }
  best
}
s0 <- log(apply(matrix(resid(fits$ID), 4), 1, sd))  # rows: the 4 visits (data sorted by subject, age)
ante <- direct_fit(ante1_V, list(c(s0, rep(atanh(0.5), 3)), c(s0, rep(atanh(0.8), 3)), c(s0, 0, 0, 0)))
L0 <- t(chol(cov(matrix(resid(fits$ID), ncol = 4, byrow = TRUE))))
p_un <- L0[lower.tri(L0, diag = TRUE)]
p_un[c(1, 5, 8, 10)] <- log(p_un[c(1, 5, 8, 10)])
un_direct <- direct_fit(un_V, list(p_un))
n <- nrow(d); p <- ncol(X)
a <- neg2ll(ante1_V(ante$par))
k <- 7 + p
rows$ANTE1 <- list(loglik = -ante$value / 2, df = k, aic = ante$value + 2 * k, bic = ante$value + k * log(n),
                   estimate = unname(drop(a$beta)), std_error = unname(a$se),
                   sd = exp(ante$par[1:4]), rho = tanh(ante$par[5:7]))
out <- list(model = "distance ~ agef + Sex, repeated over age within Subject, ML", data = "orthodont_long.csv",
            terms = colnames(X), rows = rows, ante1_check_un_loglik = -un_direct$value / 2,
            versions = list(R = R.version.string, nlme = as.character(packageVersion("nlme")),
                            jsonlite = as.character(packageVersion("jsonlite"))))
stopifnot(abs(out$ante1_check_un_loglik - rows$UN$loglik) < 1e-4)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "ml_comparison.json")
