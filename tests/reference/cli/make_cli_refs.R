# Produces sleepstudy_ri.json and orthodont_lm.json, the results-file shape of the public cases
# (run from this folder: LC_ALL=C.UTF-8 Rscript make_cli_refs.R). Versions: VERSIONS.txt, written here.
SPEC_DIR <- tempdir(); REF_DIR <- "."; DATA_DIR <- "."
LMER_CONTROL <- lme4::lmerControl()  # lmer's defaults, as the public cases were made
source("../contract_refs.R")
lmer_case("sleepstudy_ri", "sleepstudy.csv", "Reaction ~ Days + (1 | Subject)", factors = "Subject")
lm_case("orthodont_lm", "orthodont_long.csv", "distance ~ agen * Sex", refs = list(Sex = "Male"))
source("../versions.R")
write_versions("make_cli_refs.R", c("lme4", "lmerTest", "pbkrtest", "performance", "lmtest", "emmeans", "nlme"))
