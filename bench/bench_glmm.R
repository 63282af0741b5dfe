# glmer timing for bench_glmm.py: Rscript bench_glmm.R FILE.csv [REPEAT]
# Prints one JSON line: seconds (best of REPEAT), loglik.
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); d$patient <- factor(d$patient)
repeat_n <- if (length(args) > 1) as.integer(args[2]) else 1
best <- Inf
for (i in seq_len(repeat_n)) {
  t0 <- proc.time()[["elapsed"]]
  m <- glmer(y ~ time * treat + age + (1 | patient), d, binomial)
  best <- min(best, proc.time()[["elapsed"]] - t0)
}
cat(sprintf('{"seconds": %.6f, "loglik": %.8f, "lme4": "%s", "R": "%s"}\n', best, as.numeric(logLik(m)),
            packageVersion("lme4"), R.version.string))
