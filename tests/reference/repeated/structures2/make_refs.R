# References for the second round's residual structures, from nlme::gls (REML).
#   SP(POW) = corCAR1 over a continuous time, SP(EXP) = corExp, SP(GAU) = corGaus (no nugget),
#   TOEPH = corARMA(p = T - 1) with varIdent per visit, TOEP(2) = corARMA(q = 1).
# Data: Orthodont (nlme) with an unequally spaced time t (age 8, 10, 12, 14 -> 0, 1, 3, 7 months) so
# that the spatial structures differ from AR(1); the "missing" file drops visits (gaps).
# Run:  LC_ALL=C.UTF-8 Rscript tests/reference/repeated/structures2/make_refs.R
# Made with R 4.2.2, nlme 3.1-162, jsonlite.
suppressPackageStartupMessages({ library(nlme); library(jsonlite) })
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
setwd(here)
tmap <- c(`8` = 0, `10` = 1, `12` = 3, `14` = 7)
for (src in c("orthodont_long", "orthodont_missing")) {
  d <- read.csv(file.path("..", paste0(src, ".csv")))
  d$t <- unname(tmap[as.character(d$age)])
  write.csv(d, paste0(src, "_t.csv"), row.names = FALSE)
}
fit_one <- function(name, file, structure) {
  d <- read.csv(file)
  d$agef <- factor(d$agef); d$Sex <- factor(d$Sex, levels = c("Female", "Male"))
  d$pos <- match(d$t, sort(unique(d$t))); d$posf <- factor(d$pos)
  d <- d[order(d$Subject, d$t), ]
  cf <- switch(structure,
    "SP(POW)" = corCAR1(form = ~ t | Subject), "SP(EXP)" = corExp(form = ~ t | Subject),
    "SP(GAU)" = corGaus(form = ~ t | Subject), "TOEPH" = corARMA(form = ~ pos | Subject, p = 3),
    "TOEP(2)" = corARMA(form = ~ pos | Subject, q = 1))
  wf <- if (structure == "TOEPH") varIdent(form = ~ 1 | posf) else NULL
  m <- gls(distance ~ agef + Sex, data = d, correlation = cf, weights = wf, method = "REML",
           control = glsControl(maxIter = 500, msMaxIter = 500))
  full <- names(which(table(d$Subject) == 4))[1]
  V <- matrix(as.numeric(unclass(getVarCov(m, individual = full))), 4)
  tt <- summary(m)$tTable
  ref <- list(name = name, data = file, structure = structure, loglik = as.numeric(logLik(m)), aic = AIC(m),
              bic = BIC(m), estimate = unname(tt[, "Value"]), std_error = unname(tt[, "Std.Error"]),
              terms = rownames(tt), marginal_covariance = V,
              cor_parameters = as.list(coef(m$modelStruct$corStruct, unconstrained = FALSE)),
              versions = list(R = R.version.string, nlme = as.character(packageVersion("nlme"))))
  writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, pretty = TRUE), paste0(name, ".json"))
}
for (st in c("SP(POW)", "SP(EXP)", "SP(GAU)", "TOEPH", "TOEP(2)")) {
  key <- tolower(gsub("[()]", "", st))
  fit_one(paste0("full_", key), "orthodont_long_t.csv", st)
  fit_one(paste0("miss_", key), "orthodont_missing_t.csv", st)
}
