# The pbkrtest (expected information) numbers for the SAS bioequivalence model, to set beside
# SAS's observed-information Kenward-Roger. Run from this folder: Rscript make_pbkrtest.R
suppressMessages({library(lme4); library(pbkrtest); library(jsonlite)})
d <- read.csv("bioequivalence.csv")
d$subject <- factor(d$subject)
d$period <- relevel(factor(d$period), ref = "4")
d$formulation <- relevel(factor(d$formulation), ref = "T")
d$sequence <- relevel(factor(d$sequence), ref = "BABA")
m <- lmer(log_data ~ formulation + sequence + period + (1 | subject), data = d, REML = TRUE)
V <- vcovAdj(m)
p <- length(fixef(m))
df <- sapply(seq_len(p), function(i) { L <- rep(0, p); L[i] <- 1; Lb_ddf(L, vcov(m), V) })
out <- list(
  versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                  pbkrtest = as.character(packageVersion("pbkrtest"))),
  terms = names(fixef(m)), estimate = unname(fixef(m)),
  std_error = unname(sqrt(diag(as.matrix(V)))), df = df,
  reml_deviance = REMLcrit(m))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "pbkrtest_bioequivalence.json")
