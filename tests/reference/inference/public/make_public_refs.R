# The public reference cases in the shape of the results file: <case>.spec.json = the analysis file,
# <case>.json = R's numbers (read by tests/engine/inference and tests/engine/emmeans).
#
# Run from anywhere:  LC_ALL=C.UTF-8 Rscript tests/reference/inference/public/make_public_refs.R
# Data: ../*.csv (lme4's sleepstudy, Pastes, Penicillin; nlme's Orthodont). Versions: VERSIONS.txt,
# written by this script (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, emmeans 1.8.4-1,
# performance 0.10.2 when last run). Key names follow the contract (spec/analysis-and-results.md).
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
setwd(here)
DATA_DIR <- ".."; SPEC_DIR <- "."; REF_DIR <- "."; SPEC_SUFFIX <- ".spec.json"
ONLY <- Sys.getenv("ONLY", "")
LMER_CONTROL <- lme4::lmerControl(); EMM_MESG <- FALSE  # lmer's defaults, as the public cases were made
source(file.path(here, "..", "..", "contract_refs.R"))
source(file.path(here, "..", "..", "versions.R"))
options(warn = 1)

lmer_case("sleepstudy_ri", "sleepstudy.csv", "Reaction ~ Days + (1 | Subject)", factors = "Subject")
lmer_case("sleepstudy_ri_ml", "sleepstudy.csv", "Reaction ~ Days + (1 | Subject)", method = "ML",
          factors = "Subject")
lmer_case("sleepstudy_rs", "sleepstudy.csv", "Reaction ~ Days + (Days | Subject)", factors = "Subject")
lmer_case("sleepstudy_rs_uncorr", "sleepstudy.csv", "Reaction ~ Days + (Days || Subject)", factors = "Subject")
lmer_case("pastes_nested", "pastes.csv", "strength ~ 1 + (1 | batch/cask)")
lmer_case("penicillin_crossed", "penicillin.csv", "diameter ~ 1 + (1 | plate) + (1 | sample)")
lmer_case("orthodont_cat", "orthodont.csv", "distance ~ age * Sex + (1 | Subject)", factors = c("age", "Subject"),
          refs = list(Sex = "Male"),
          emm = list(list(specs = "age", contrasts = list(
            ctr("pairwise", "tukey"), ctr("consec", "holm"), ctr("trt.vs.ctrl", "bonferroni"),
            ctr("custom", "none", weights = c(0, -0.5, -0.5, 1), name = "T14 - (T10+T12)/2")))))

# likelihood-ratio test of the random intercept (ML fits; chi-square(1) and the 50:50 boundary mixture)
if (want("sleepstudy_lrt")) {
  d <- prep(read_data("sleepstudy.csv"), "Subject")
  m1 <- lmer(Reaction ~ Days + (1 | Subject), data = d, REML = FALSE)
  m0 <- lm(Reaction ~ Days, data = d)
  l1 <- as.numeric(logLik(m1)); l0 <- as.numeric(logLik(m0))
  stat <- max(0, 2 * (l1 - l0)); naive <- pchisq(stat, 1, lower.tail = FALSE)
  save_case("sleepstudy_lrt", spec_of("sleepstudy.csv", "Reaction ~ Days + (1 | Subject)", "ML", "Subject", ret = TRUE),
            list(statistic = stat, p_naive = naive, p_boundary = 0.5 * naive, loglik_null = l0, loglik_alt = l1))
}
write_versions("make_public_refs.R", c("lme4", "lmerTest", "pbkrtest", "emmeans", "performance", "lmtest", "nlme"))
