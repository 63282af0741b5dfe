# Weighted repeated-measures fits (SAS WEIGHT: residual covariance W^-1/2 R W^-1/2), the references of
# tests/engine/repeated/test_weights.py. Run from this folder: Rscript make_weights.R
# nlme: weights = varFixed(~ 1/w) gives residual variance proportional to 1/w (combined with
# varIdent for UN's heterogeneous variances; correlations by visit number occ, so a missed visit is a gap); lme adds a random intercept (G unchanged by weights).
suppressMessages({library(nlme); library(lme4); library(jsonlite)})
d <- read.csv("../orthodont_missing.csv")
d$Subject <- factor(d$Subject)
d$Sex <- factor(d$Sex, levels = c("Male", "Female"))
# a deterministic weight per row: varies within and between subjects
d$w <- 0.5 + ((seq_len(nrow(d)) * 7) %% 11) / 10
d$iw <- 1 / d$w
write.csv(d[, c("distance", "age", "Subject", "Sex", "w")], "orthodont_weighted.csv", row.names = FALSE)
g_un <- gls(distance ~ Sex * age, data = d, correlation = corSymm(form = ~ occ | Subject),
            weights = varComb(varIdent(form = ~ 1 | age), varFixed(~ iw)), method = "REML")
g_ar1 <- gls(distance ~ Sex * age, data = d, correlation = corAR1(form = ~ occ | Subject),
             weights = varFixed(~ iw), method = "ML")
m_ri <- lmer(distance ~ Sex * age + (1 | Subject), data = d, weights = w, REML = TRUE)
pack <- function(m, se) list(beta = unname(coef(m)), se = unname(se), loglik = as.numeric(logLik(m)))
out <- list(versions = list(R = R.version.string, nlme = as.character(packageVersion("nlme")),
                            lme4 = as.character(packageVersion("lme4"))),
            un_reml = pack(g_un, sqrt(diag(vcov(g_un)))),
            # nlme scales the ML covariance of beta by N / (N - p); we (as SAS) do not
            ar1_ml = pack(g_ar1, sqrt(diag(vcov(g_ar1)) * (nrow(d) - 4) / nrow(d))),
            ri_lmer = list(beta = unname(fixef(m_ri)), se = unname(sqrt(diag(as.matrix(vcov(m_ri))))),
                           loglik = as.numeric(logLik(m_ri)), sigma2 = sigma(m_ri)^2,
                           tau2 = as.numeric(VarCorr(m_ri)$Subject),
                           fitted = unname(fitted(m_ri))[1:5], resid = unname(resid(m_ri))[1:5]))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "weights.json")
