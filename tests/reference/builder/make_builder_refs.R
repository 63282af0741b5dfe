# R's numbers for the model-builder tests (tests/gui/test_builder.py, test_window_builder.py): the same
# models as the public reference cases, in the shape of the results file (see README.md here).
#
# Run from anywhere:  LC_ALL=C.UTF-8 Rscript tests/reference/builder/make_builder_refs.R
# Data: ../lmm/*.csv and ../cli/orthodont_long.csv. Versions: VERSIONS.txt, written by this script.
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
setwd(here)
SPEC_DIR <- tempdir(); REF_DIR <- "."; SPEC_SUFFIX <- ".json"  # the builder tests build their own analysis
ONLY <- Sys.getenv("ONLY", "")
LMER_CONTROL <- lme4::lmerControl(); EMM_MESG <- FALSE  # lmer's defaults, as the public cases were made
DATA_DIR <- "../lmm"
source(file.path(here, "..", "contract_refs.R"))
source(file.path(here, "..", "versions.R"))
options(warn = 1)

lmer_case("sleepstudy_rs", "sleepstudy.csv", "Reaction ~ Days + (Days | Subject)", factors = "Subject")
lmer_case("sleepstudy_rs_uncorr", "sleepstudy.csv", "Reaction ~ Days + (Days || Subject)", factors = "Subject")
lmer_case("pastes_nested", "pastes.csv", "strength ~ 1 + (1 | batch/cask)")
lmer_case("penicillin_crossed", "penicillin.csv", "diameter ~ 1 + (1 | plate) + (1 | sample)")
lmer_case("orthodont_cat", "orthodont.csv", "distance ~ age * Sex + (1 | Subject)", factors = c("age", "Subject"),
          refs = list(Sex = "Male"),
          emm = list(list(specs = "age", contrasts = list(
            ctr("pairwise", "tukey"), ctr("consec", "holm"), ctr("trt.vs.ctrl", "bonferroni"),
            ctr("custom", "none", weights = c(0, -0.5, -0.5, 1), name = "T14 - (T10+T12)/2")))))
DATA_DIR <- "../cli"; VARIDENT_BY_INDEX <- TRUE  # varStruct.10 etc., as the public case names them
rep_case("orthodont_un", "orthodont_long.csv", "distance ~ agef + Sex", "UN", "Subject", "age",
         factors = c("agef", "Subject"), refs = list(Sex = "Male"))
write_versions("make_builder_refs.R", c("lme4", "lmerTest", "pbkrtest", "emmeans", "performance", "lmtest", "nlme"))
