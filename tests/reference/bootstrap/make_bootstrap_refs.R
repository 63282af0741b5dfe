# Reference for the parametric-bootstrap p-value of a random-effect LRT (tests/results/test_optional_analyses.py).
#
# Run from this folder:  Rscript make_bootstrap_refs.R
# Reads ../inference/pastes.csv (lme4's Pastes) and writes bootstrap_refs.json. The test of (1 | batch) in
# strength ~ 1 + (1 | batch/cask): ML fits with and without the term, responses simulated from the ML fit
# without it (lme4's simulate), both refitted, p = (1 + #{T* >= T}) / (1 + nsim), as MixGUI computes it.
# The p-value is itself random; nsim = 2000 gives it a Monte Carlo standard error of about 0.01.
suppressPackageStartupMessages({ library(lme4); library(jsonlite) })

d <- read.csv("../inference/pastes.csv")
d$batch <- factor(d$batch); d$cask <- factor(d$cask)
m1 <- lmer(strength ~ 1 + (1 | batch/cask), data = d, REML = FALSE)
m0 <- lmer(strength ~ 1 + (1 | cask:batch), data = d, REML = FALSE)
stat <- as.numeric(2 * (logLik(m1) - logLik(m0)))
nsim <- 2000
ys <- simulate(m0, nsim = nsim, seed = 20240)
quiet <- lmerControl(check.conv.singular = "ignore", calc.derivs = FALSE)
tstar <- vapply(ys, function(y) {
  f1 <- suppressMessages(refit(m1, y, control = quiet))
  f0 <- suppressMessages(refit(m0, y, control = quiet))
  max(0, as.numeric(2 * (logLik(f1) - logLik(f0))))
}, numeric(1))
out <- list(term = "(1 | batch)", statistic = stat, nsim = nsim, seed = 20240,
            p_value_bootstrap = (1 + sum(tstar >= stat)) / (1 + nsim),
            R_version = R.version.string, lme4_version = as.character(packageVersion("lme4")))
write_json(out, "bootstrap_refs.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
source("../versions.R")
write_versions("make_bootstrap_refs.R", c("lme4"))
