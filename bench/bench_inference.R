# Times lme4 / lmerTest / pbkrtest on the same data as bench_inference.py, printing one JSON line.
# usage: Rscript bench_inference.R long_100k.csv [skip_kr]
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(pbkrtest); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); d$patient <- factor(d$patient); d$treat <- factor(d$treat)
f <- y ~ time * treat + age + (time | patient)
t_lme4 <- system.time(m0 <- lme4::lmer(f, data = d))[["elapsed"]]
t_lmertest <- system.time(m <- lmerTest::lmer(f, data = d))[["elapsed"]]
out <- list(rows = nrow(d), lme4_seconds = t_lme4, lmertest_seconds = t_lmertest,
            loglik = as.numeric(logLik(m)))
if (length(args) < 2) {
  # pbkrtest builds n x n matrices: it may run out of memory on large data; report that as such
  t_kr <- tryCatch(system.time(s <- summary(m, ddf = "Kenward-Roger"))[["elapsed"]],
                   error = function(e) { out$kr_error <<- conditionMessage(e); NA })
  out$pbkrtest_seconds <- t_kr
}
cat(toJSON(out, auto_unbox = TRUE, digits = NA), "\n")
