# Reference numbers for mixgui/engine/emmeans.py (tests/engine/test_emmeans.py).
# Run from this folder:  Rscript make_emmeans_refs.R   -> writes emmeans_refs.json
# Made with R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, emmeans 1.8.4-1, mvtnorm, jsonlite
# (the exact versions are written into the JSON's "versions" field).
#
# Contrast rows also hold confint()'s limits (lower, upper, adjusted as emmeans adjusts them: holm,
# fdr and hommel intervals are Bonferroni's) and its "Conf-level adjustment" message; every request
# records whether emmeans printed its "Results may be misleading due to involvement in interactions"
# note. mvt uses mvtnorm's randomised integration: the seed is fixed before each contrast.
#
# For every case the file stores what the Python side needs to check its own arithmetic
# independently of MixGUI's fitting code: the fixed-effect names (all, and those kept after
# dropping aliased columns), beta, vcov (lme4's, and pbkrtest's Kenward-Roger adjusted one),
# and for every marginal mean and contrast its linear function L over the coefficients, its
# estimate, SE, df, t, p and the adjustment message emmeans prints.
suppressMessages({
  library(lme4); library(lmerTest); library(pbkrtest); library(emmeans); library(jsonlite)
})
emm_options(msg.interaction = TRUE, msg.nesting = FALSE)

orth <- read.csv("orthodont.csv")
long <- read.csv("orthodont_long.csv")
# An empty cell: no girl measured at age 14 (so age 14 x Female is not estimable).
miss <- orth[!(orth$Sex == "Female" & orth$age == 14), ]
write.csv(miss, "orthodont_missing.csv", row.names = FALSE)

prep <- function(d, factors, refs) {
  for (v in factors) d[[v]] <- factor(d[[v]], levels = sort(unique(d[[v]])))
  for (v in names(refs)) d[[v]] <- relevel(factor(d[[v]]), refs[[v]])
  d
}

# One contrast family as the Python Contrast dataclass describes it.
ctr <- function(method, adjust, ref = NULL, weights = NULL, name = NULL)
  Filter(Negate(is.null), list(method = method, adjust = adjust, ref = ref, weights = weights, name = name))

cases <- list(
  orthodont_cat = list(
    data = "orthodont.csv", formula = "distance ~ age * Sex + (1 | Subject)", model = "lmer",
    factors = c("age", "Subject"), refs = list(Sex = "Male"),
    requests = list(
      list(specs = "age", contrasts = list(
        ctr("pairwise", "tukey"), ctr("consec", "holm"), ctr("trt.vs.ctrl", "bonferroni"),
        ctr("custom", "none", weights = c(0, -0.5, -0.5, 1), name = "T14 - (T10+T12)/2"),
        ctr("poly", "none"), ctr("trt.vs.ctrl", "holm", ref = "12"), ctr("consec", "tukey"),
        ctr("pairwise", "sidak"), ctr("poly", "bonferroni"),
        ctr("trt.vs.ctrl", "dunnettx"), ctr("trt.vs.ctrl", "mvt"), ctr("pairwise", "mvt"),
        ctr("pairwise", "fdr"), ctr("pairwise", "hommel"), ctr("consec", "dunnettx"), ctr("pairwise", "none"))),
      list(specs = "Sex", by = "age", contrasts = list(ctr("pairwise", "tukey"))),
      list(specs = "age", by = "Sex", contrasts = list(ctr("pairwise", "tukey"), ctr("trt.vs.ctrl", "holm"),
        ctr("trt.vs.ctrl", "dunnettx"), ctr("trt.vs.ctrl", "mvt"), ctr("pairwise", "fdr"),
        ctr("consec", "hommel"), ctr("pairwise", "sidak"), ctr("pairwise", "bonferroni"))),
      list(specs = c("age", "Sex"), contrasts = list(ctr("pairwise", "tukey"), ctr("consec", "sidak"),
        ctr("trt.vs.ctrl", "mvt"), ctr("pairwise", "holm"))),
      list(specs = "Sex", contrasts = list(ctr("pairwise", "tukey"))))),
  orthodont_cov = list(
    data = "orthodont_long.csv", formula = "distance ~ Sex * agen + (1 | Subject)", model = "lmer",
    factors = c("Subject"), refs = list(Sex = "Male"),
    requests = list(
      list(specs = "Sex", contrasts = list(ctr("pairwise", "tukey"))),
      list(specs = "Sex", by = "agen", at = list(agen = c(8, 14)), contrasts = list(ctr("pairwise", "none"))))),
  orthodont_missing = list(
    data = "orthodont_missing.csv", formula = "distance ~ age * Sex + (1 | Subject)", model = "lmer",
    factors = c("age", "Subject"), refs = list(Sex = "Male"),
    requests = list(
      list(specs = "age", contrasts = list(ctr("pairwise", "tukey"))),
      list(specs = c("age", "Sex"), contrasts = list(ctr("consec", "holm"))),
      list(specs = "Sex", by = "age", contrasts = list(ctr("pairwise", "none"))))),
  orthodont_lm = list(
    data = "orthodont_long.csv", formula = "distance ~ agen * Sex", model = "lm",
    factors = character(0), refs = list(Sex = "Male"),
    requests = list(
      list(specs = "Sex", contrasts = list(ctr("pairwise", "tukey"))),
      list(specs = "Sex", by = "agen", at = list(agen = c(8, 11, 14)), contrasts = list(ctr("pairwise", "holm"))))),
  orthodont_lm_factor = list(
    data = "orthodont_long.csv", formula = "distance ~ agef + Sex", model = "lm",
    factors = c("agef"), refs = list(Sex = "Male"),
    requests = list(
      list(specs = "agef", contrasts = list(ctr("pairwise", "tukey"), ctr("poly", "none"),
                                            ctr("trt.vs.ctrl", "holm", ref = "14")))))
)

# All columns of the fixed-effects model matrix before aliased ones are dropped, with R's
# names (e.g. "age10:SexFemale"); emmeans's linear functions run over all of them.
full_names <- function(f, d) colnames(model.matrix(lme4::nobars(f), d))

emm_call <- function(m, req, dfm) {
  args <- list(m, specs = req$specs)
  if (!is.null(req$by)) args$by <- req$by
  if (!is.null(req$at)) args$at <- req$at
  if (!is.null(dfm)) args$lmer.df <- dfm
  do.call(emmeans, args)
}

one_contrast <- function(emm, c) {
  levs <- levels(emm)[[1]]
  if (c$method == "custom") {
    meth <- list(c$weights); names(meth) <- c$name
    return(contrast(emm, meth, adjust = c$adjust))
  }
  set.seed(20260101)
  if (c$method == "trt.vs.ctrl" && !is.null(c$ref))
    return(contrast(emm, "trt.vs.ctrl", ref = match(c$ref, levs), adjust = c$adjust))
  contrast(emm, c$method, adjust = c$adjust)
}

rows_of <- function(s, L, names_all, value_cols) {
  lapply(seq_len(nrow(s)), function(i) {
    r <- list()
    for (v in value_cols) r[[v]] <- as.character(s[[v]][i])
    r$L <- setNames(as.numeric(L[i, ]), NULL)
    r
  })
}

results <- list()
for (nm in names(cases)) {
  cs <- cases[[nm]]
  raw <- read.csv(cs$data)
  d <- prep(raw, cs$factors, cs$refs)
  f <- as.formula(cs$formula)
  m <- if (cs$model == "lmer") lmer(f, data = d, REML = TRUE) else lm(f, data = d)
  beta <- if (cs$model == "lmer") fixef(m) else coef(m)
  kept <- names(beta)[!is.na(beta)]
  out <- list(data = cs$data, formula = cs$formula, model = cs$model, factors = cs$factors,
              reference_levels = cs$refs, names = full_names(f, d), kept = kept,
              beta = setNames(as.numeric(beta[kept]), NULL),
              vcov = unname(as.matrix(vcov(m))[kept, kept]))
  dfms <- if (cs$model == "lmer") c("kenward-roger", "satterthwaite") else "residual"
  if (cs$model == "lmer") out$vcov_kr <- unname(as.matrix(vcovAdj(m))[kept, kept])
  reqs <- list()
  for (req in cs$requests) {
    rq <- list(specs = req$specs, by = if (is.null(req$by)) character(0) else req$by,
               at = req$at, contrasts = req$contrasts, results = list())
    for (dfm in dfms) {
      notes <- character(0)
      emm <- withCallingHandlers(emm_call(m, req, if (dfm == "residual") NULL else dfm),
                                 message = function(e) { notes <<- c(notes, conditionMessage(e)); invokeRestart("muffleMessage") })
      interaction_note <- any(grepl("involvement in interactions", notes))
      s <- as.data.frame(summary(emm))
      L <- emm@linfct
      vars <- c(req$specs, req$by)
      em_rows <- lapply(seq_len(nrow(s)), function(i) list(
        levels = setNames(lapply(vars, function(v) as.character(s[[v]][i])), vars),
        emmean = s$emmean[i], std_error = s$SE[i], df = s$df[i],
        lower = s$lower.CL[i], upper = s$upper.CL[i], L = setNames(as.numeric(L[i, ]), NULL)))
      con <- lapply(req$contrasts, function(c) {
        ce <- one_contrast(emm, c)
        set.seed(20260101)
        cs_ <- summary(ce)
        mesg <- attr(cs_, "mesg")
        cs_ <- as.data.frame(cs_)
        set.seed(20260101)
        ci <- confint(ce)
        ci_mesg <- attr(ci, "mesg")
        ci <- as.data.frame(ci)
        LC <- ce@linfct
        list(method = c$method, adjust = c$adjust, mesg = mesg, ci_mesg = ci_mesg,
             rows = lapply(seq_len(nrow(cs_)), function(i) list(
               contrast = as.character(cs_$contrast[i]),
               by = setNames(lapply(req$by, function(v) as.character(cs_[[v]][i])), req$by),
               estimate = cs_$estimate[i], std_error = cs_$SE[i], df = cs_$df[i],
               t_value = cs_$t.ratio[i], p_value = cs_$p.value[i], lower = ci$lower.CL[i], upper = ci$upper.CL[i],
               L = setNames(as.numeric(LC[i, ]), NULL))))
      })
      rq$results[[dfm]] <- list(emmeans = em_rows, contrasts = con, interaction_note = interaction_note)
    }
    reqs[[length(reqs) + 1]] <- rq
  }
  out$requests <- reqs
  results[[nm]] <- out
}
# emmeans's integer polynomial contrasts for 2 to 10 equally spaced levels
results$poly <- lapply(2:10, function(k) unname(as.matrix(emmeans:::poly.emmc(seq_len(k)))))
results$versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                         lmerTest = as.character(packageVersion("lmerTest")),
                         pbkrtest = as.character(packageVersion("pbkrtest")),
                         emmeans = as.character(packageVersion("emmeans")),
                         mvtnorm = as.character(packageVersion("mvtnorm")))
writeLines(toJSON(results, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE),
           "emmeans_refs.json")
cat("wrote emmeans_refs.json\n")
source("../versions.R")
write_versions("make_emmeans_refs.R", c("lme4", "lmerTest", "pbkrtest", "emmeans"))
