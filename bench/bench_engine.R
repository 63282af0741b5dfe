# Time lme4::lmer (default settings, REML) on the MixGUI benchmark data; run by bench_engine.py.
# usage: Rscript bench_engine.R DATADIR INSTEVAL_CSV [REPEAT] [--big]
# Prints one line per model: model<TAB>elapsed seconds<TAB>CPU seconds (user + system)<TAB>loglik.
# Data are read and factors made outside the timing; system.time wraps the lmer call only (best
# of REPEAT). R 4.2.2, lme4 1.1-31.
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
datadir <- args[1]; insteval <- args[2]
big <- "--big" %in% args
rest <- setdiff(args[-(1:2)], "--big")
repeats <- if (length(rest)) as.integer(rest[1]) else 1L

timed <- function(name, formula, data) {
  best <- Inf; cpu <- Inf; m <- NULL
  for (i in seq_len(repeats)) {
    tt <- system.time(m <- lmer(formula, data = data, REML = TRUE))
    best <- min(best, tt[["elapsed"]])
    cpu <- min(cpu, tt[["user.self"]] + tt[["sys.self"]])
  }
  cat(sprintf("%s\t%.4f\t%.4f\t%.6f\n", name, best, cpu, as.numeric(logLik(m))))
}

d <- read.csv(file.path(datadir, "long_100k.csv"))
d$patient <- factor(d$patient); d$treat <- factor(d$treat)
timed("long_100k", y ~ time * treat + age + (time | patient), d)

ie <- read.csv(insteval)
for (v in c("s", "d", "dept", "service")) ie[[v]] <- factor(ie[[v]])
timed("insteval", y ~ service + (1 | s) + (1 | d) + (1 | dept), ie)
timed("insteval_slopes", y ~ service + (service | d) + (1 | s), ie)

for (name in c("crossed_30k", "crossed_200k")) {
  f <- file.path(datadir, paste0(name, ".csv"))
  if (file.exists(f)) {
    d <- read.csv(f)
    d$subj <- factor(d$subj); d$item <- factor(d$item)
    timed(name, rt ~ cond + (1 + cond | subj) + (1 + cond | item), d)
  }
}

if (big && file.exists(file.path(datadir, "long_1m.csv"))) {
  d <- read.csv(file.path(datadir, "long_1m.csv"))
  d$patient <- factor(d$patient); d$treat <- factor(d$treat)
  timed("long_1m", y ~ time * treat + age + (1 | patient), d)
}
