# Reference values for tests/cli/test_compare_command.py (mixgui compare, mixgui/results/compare.py).
#
# Run from this folder:  Rscript make_compare_refs.R
# Reads ../cli/sleepstudy.csv (lme4's sleepstudy) and writes compare_refs.json: lme4's anova() of
#  - same_fixed_reml: random intercept vs random slope, REML fits compared as they are (refit = FALSE),
#    which is what MixGUI does when the fixed effects are the same;
#  - same_fixed_ml: the same pair refitted by ML (R's default anova());
#  - with_lm: lm(Reaction ~ Days), lmer(Reaction ~ 1 + (Days | Subject)), lmer(Reaction ~ Days + (Days | Subject)),
#    fixed effects differ, so every model is refitted by ML.
suppressPackageStartupMessages({ library(lme4); library(jsonlite) })

ss <- read.csv("../cli/sleepstudy.csv")
ss$Subject <- factor(ss$Subject)
m_ri <- lmer(Reaction ~ Days + (1 | Subject), data = ss, REML = TRUE)
m_rs <- lmer(Reaction ~ Days + (Days | Subject), data = ss, REML = TRUE)
m_rs0 <- lmer(Reaction ~ 1 + (Days | Subject), data = ss, REML = TRUE)
m_lm <- lm(Reaction ~ Days, data = ss)

rows <- function(a) {
  lapply(seq_len(nrow(a)), function(i) list(
    model = rownames(a)[i], npar = a$npar[i], aic = a$AIC[i], bic = a$BIC[i], loglik = a$logLik[i],
    deviance = a[i, grep("deviance", names(a))[1]], chisq = a$Chisq[i], df = a$Df[i],
    p_value = a[["Pr(>Chisq)"]][i]))
}
out <- list(
  same_fixed_reml = list(formulas = c("Reaction ~ Days + (1 | Subject)", "Reaction ~ Days + (Days | Subject)"),
                         rows = rows(anova(m_ri, m_rs, refit = FALSE))),
  same_fixed_ml = list(formulas = c("Reaction ~ Days + (1 | Subject)", "Reaction ~ Days + (Days | Subject)"),
                       rows = rows(anova(m_ri, m_rs))),
  with_lm = list(formulas = c("Reaction ~ Days", "Reaction ~ 1 + (Days | Subject)",
                              "Reaction ~ Days + (Days | Subject)"),
                 rows = rows(anova(m_rs0, m_rs, m_lm))),
  R_version = R.version.string, lme4_version = as.character(packageVersion("lme4")))
write_json(out, "compare_refs.json", digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null")
source("../versions.R")
write_versions("make_compare_refs.R", c("lme4"))
