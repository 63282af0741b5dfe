# MMRM benchmark, R side: nlme::gls with unstructured residuals (corSymm + varIdent), REML.
# usage: Rscript bench_mmrm.R mmrm_8k.csv   -> prints one JSON line {"seconds", "loglik", "nobs"}
# Only gls() itself is timed (system.time around it), not reading the data or loading nlme.
suppressPackageStartupMessages(library(nlme))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
d$pos <- match(d$visit, sort(unique(d$visit)))  # visit index 1..T: a missing visit is a gap
d$patient <- factor(d$patient)
tm <- system.time(
  fit <- gls(y ~ factor(visit) * treat, data = d, correlation = corSymm(form = ~ pos | patient),
             weights = varIdent(form = ~ 1 | factor(visit)), method = "REML")
)
cat(sprintf('{"seconds": %.6f, "loglik": %.10f, "nobs": %d}\n', tm[["elapsed"]], as.numeric(logLik(fit)), nrow(d)))
