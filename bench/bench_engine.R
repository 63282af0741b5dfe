# Time lme4::lmer (default settings) on the MixGUI benchmark data; called by bench_engine.py.
# usage: Rscript bench_engine.R DATADIR INSTEVAL_CSV [--big]
# Prints one line per model: model<TAB>seconds<TAB>loglik. Data are read outside the timing.
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
datadir <- args[1]; insteval <- args[2]; big <- "--big" %in% args
timed <- function(name, formula, data) {
  m <- NULL
  tt <- system.time(m <- lmer(formula, data = data, REML = TRUE))[["elapsed"]]
  cat(sprintf("%s\t%.4f\t%.6f\n", name, tt, as.numeric(logLik(m))))
}
d <- read.csv(file.path(datadir, "long_100k.csv"))
d$patient <- factor(d$patient); d$treat <- factor(d$treat)
timed("long_100k", y ~ time * treat + age + (time | patient), d)
ie <- read.csv(insteval)
for (v in c("s", "d", "dept", "service")) ie[[v]] <- factor(ie[[v]])
timed("insteval", y ~ service + (1 | s) + (1 | d) + (1 | dept), ie)
if (big && file.exists(file.path(datadir, "long_1m.csv"))) {
  d <- read.csv(file.path(datadir, "long_1m.csv"))
  d$patient <- factor(d$patient); d$treat <- factor(d$treat)
  timed("long_1m", y ~ time * treat + age + (1 | patient), d)
}
