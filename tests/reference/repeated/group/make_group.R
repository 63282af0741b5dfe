# Covariance parameters per group (SAS GROUP=) where nlme can fit them: variances per group level
# (ID with GROUP=Sex: varIdent(~ 1 | Sex)) and per group level and visit (DIAG with GROUP=Sex:
# varIdent(~ 1 | Sex * age)). References of tests/engine/repeated/test_group.py.
# Run from this folder: Rscript make_group.R
suppressMessages({library(nlme); library(jsonlite)})
d <- read.csv("../orthodont_missing.csv")
d$Sex <- factor(d$Sex, levels = c("Male", "Female"))
d$agef <- factor(d$agef)
pack <- function(m) list(beta = unname(coef(m)), se = unname(sqrt(diag(vcov(m)))),
                         loglik = as.numeric(logLik(m)), sigma = m$sigma,
                         var_ratio = as.list(coef(m$modelStruct$varStruct, unconstrained = FALSE)))
id <- gls(distance ~ Sex * agef, data = d, weights = varIdent(form = ~ 1 | Sex), method = "REML")
diag <- gls(distance ~ Sex * agef, data = d, weights = varIdent(form = ~ 1 | Sex * age), method = "REML")
out <- list(versions = list(R = R.version.string, nlme = as.character(packageVersion("nlme"))),
            id_group_sex = pack(id), diag_group_sex = pack(diag),
            note = "var_ratio: SD ratios of each stratum to the first (nlme's varIdent, unconstrained = FALSE)")
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "group.json")
