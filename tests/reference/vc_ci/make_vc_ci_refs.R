# Profile confidence intervals of lme4 1.1-31 (R 4.2.2) for the sleepstudy models; writes vc_ci_refs.json
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
d <- read.csv("../cli/sleepstudy.csv"); d$Subject <- factor(d$Subject)
ci <- function(m) { x <- confint(m, parm = "theta_", oldNames = FALSE); list(names = rownames(x), lower = x[, 1], upper = x[, 2]) }
out <- list(slope = ci(lmer(Reaction ~ Days + (Days | Subject), d)),
            intercept = ci(lmer(Reaction ~ Days + (1 | Subject), d)))
write_json(out, "vc_ci_refs.json", digits = NA, auto_unbox = TRUE)
source("../versions.R")
write_versions("make_vc_ci_refs.R", c("lme4"))
