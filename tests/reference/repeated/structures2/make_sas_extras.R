# References for the SAS PROC MIXED extras, computed in R from nlme::gls fits (REML):
#  - the EMPIRICAL (CR0 sandwich) covariance of beta: sum over subjects of X_i'V_i^-1 r_i r_i'V_i^-1 X_i
#    between (X'V^-1X)^-1, built here from getVarCov (an independent implementation);
#  - the null-model likelihood-ratio test: -2 (logLik(gls without correlation or weights) - logLik(fit)),
#    df = covariance parameters - 1 (SAS's "Null Model Likelihood Ratio Test").
# Run:  LC_ALL=C.UTF-8 Rscript tests/reference/repeated/structures2/make_sas_extras.R
# Made with R 4.2.2, nlme 3.1-162, jsonlite.
suppressPackageStartupMessages({ library(nlme); library(jsonlite) })
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
setwd(here)
one <- function(name, file, structure) {
  d <- read.csv(file)
  d$agef <- factor(d$agef); d$Sex <- factor(d$Sex, levels = c("Female", "Male"))
  d$pos <- match(d$age, sort(unique(d$age))); d$posf <- factor(d$pos)
  d <- d[order(d$Subject, d$pos), ]
  cf <- switch(structure, UN = corSymm(form = ~ pos | Subject), AR1 = corAR1(form = ~ pos | Subject))
  wf <- if (structure == "UN") varIdent(form = ~ 1 | posf) else NULL
  m <- gls(distance ~ agef + Sex, data = d, correlation = cf, weights = wf, method = "REML",
           control = glsControl(maxIter = 500, msMaxIter = 500))
  X <- model.matrix(~ agef + Sex, d); r <- d$distance - as.vector(X %*% coef(m))
  bread <- 0; meat <- 0
  for (s in unique(d$Subject)) {
    i <- which(d$Subject == s)
    V <- matrix(as.numeric(unclass(getVarCov(m, individual = s))), length(i))
    Vi <- solve(V); Xi <- X[i, , drop = FALSE]
    bread <- bread + t(Xi) %*% Vi %*% Xi
    u <- t(Xi) %*% Vi %*% r[i]; meat <- meat + u %*% t(u)
  }
  phi <- solve(bread); emp <- phi %*% meat %*% phi
  m0 <- gls(distance ~ agef + Sex, data = d, method = "REML")
  k <- length(coef(m$modelStruct)) + 1
  ref <- list(name = name, data = file, structure = structure, loglik = as.numeric(logLik(m)),
              empirical_se = sqrt(diag(emp)), null_chi_square = -2 * (as.numeric(logLik(m0)) - as.numeric(logLik(m))),
              null_df = k - 1, versions = list(R = R.version.string, nlme = as.character(packageVersion("nlme"))))
  writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, pretty = TRUE), paste0("extras_", name, ".json"))
}
one("un_missing", "orthodont_missing_t.csv", "UN")
one("ar1_full", "orthodont_long_t.csv", "AR1")
