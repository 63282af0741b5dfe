# Helpers shared by the scripts that write reference cases in the shape of the results file
# (the contract in spec/analysis-and-results.md): specs/<case>.json = the analysis file, ref/<case>.json =
# R's numbers. Sourced by conformance/make_conformance_refs.R, inference/public/make_public_refs.R,
# builder/make_builder_refs.R, repeated/make_public_structures.R, ols/ and cli/ scripts.
#
# Before sourcing, set DATA_DIR (where read_data() reads the CSV files; default "data") and, for
# save_case(), SPEC_DIR / REF_DIR and SPEC_SUFFIX (".json" = conformance layout, ".spec.json" = specs
# beside the refs). Needs lme4, lmerTest, pbkrtest, nlme, emmeans, performance, lmtest, jsonlite.
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(pbkrtest); library(nlme); library(emmeans)
  library(performance); library(jsonlite); library(lmtest)
})
emm_options(msg.interaction = FALSE, msg.nesting = FALSE)
if (!exists("DATA_DIR")) DATA_DIR <- "data"
if (!exists("SPEC_DIR")) SPEC_DIR <- "specs"
if (!exists("REF_DIR")) REF_DIR <- "ref"
if (!exists("SPEC_SUFFIX")) SPEC_SUFFIX <- ".json"
if (!exists("ONLY")) ONLY <- ""
if (!exists("VARIDENT_BY_INDEX")) VARIDENT_BY_INDEX <- FALSE

# ---------------------------------------------------------------------------------------------
# helpers
write_obj <- function(x, path) {
  writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
             path, useBytes = TRUE)
}
read_data <- function(file) read.csv(file.path(DATA_DIR, file), check.names = FALSE, na.strings = c("", "NA"),
                                     encoding = "UTF-8", stringsAsFactors = FALSE)
# Factors as the contract says: listed factors and text columns categorical, levels sorted
# (numbers numerically, text alphabetically), then the chosen reference level first.
prep <- function(d, factors = character(0), refs = list()) {
  for (v in names(d)) {
    if (v %in% factors || is.character(d[[v]])) d[[v]] <- factor(d[[v]], levels = sort(unique(d[[v]][!is.na(d[[v]])])))
  }
  for (v in names(refs)) d[[v]] <- relevel(d[[v]], refs[[v]])
  d
}
nz <- function(x) if (is.null(x) || length(x) == 0 || (length(x) == 1 && is.na(x))) NULL else x
want <- function(name) ONLY == "" || grepl(ONLY, name, fixed = TRUE)

spec_of <- function(data, formula, method = "REML", factors = character(0), refs = list(), repeated = NULL,
                    ret = FALSE, emm = NULL) {
  s <- list(data = list(path = paste0("../data/", data)), formula = formula)
  if (!is.null(method)) s$method <- method
  if (length(factors)) s$factors <- I(factors)
  if (length(refs)) s$reference_levels <- refs
  if (!is.null(repeated)) s$repeated <- repeated
  if (ret) s$random_effect_tests <- TRUE
  if (!is.null(emm)) s$emmeans <- lapply(emm, function(r) {
    o <- list(specs = if (length(r$specs) > 1) I(r$specs) else r$specs)
    if (!is.null(r$by)) o$by <- r$by
    o$contrasts <- lapply(r$contrasts, function(c) {
      cc <- list(method = c$method, adjust = c$adjust)
      if (!is.null(c$ref)) cc$ref <- c$ref
      if (!is.null(c$name)) cc$name <- c$name
      if (!is.null(c$weights)) cc$weights <- I(c$weights)
      cc
    })
    o
  })
  s
}
ctr <- function(method, adjust, ref = NULL, weights = NULL, name = NULL)
  list(method = method, adjust = adjust, ref = ref, weights = weights, name = name)

save_case <- function(name, spec, ref) {
  write_obj(spec, file.path(SPEC_DIR, paste0(name, SPEC_SUFFIX)))
  write_obj(ref, file.path(REF_DIR, paste0(name, ".json")))
  cat("wrote", name, "\n")
}

# ----- lmer --------------------------------------------------------------------------------
emm_blocks <- function(m, reqs, dfm) {
  lapply(reqs, function(r) {
    args <- list(m, specs = r$specs)
    if (!is.null(r$by)) args$by <- r$by
    args$lmer.df <- dfm
    emm <- do.call(emmeans, args)
    s <- as.data.frame(summary(emm))
    vars <- c(r$specs, r$by)
    em <- lapply(seq_len(nrow(s)), function(i) list(
      level = paste(sapply(vars, function(v) as.character(s[[v]][i])), collapse = ", "),
      emmean = s$emmean[i], std_error = s$SE[i], df = s$df[i], lower = s$lower.CL[i], upper = s$upper.CL[i]))
    con <- lapply(r$contrasts, function(c) {
      levs <- levels(emm)[[r$specs[1]]]
      ce <- if (c$method == "custom") {
        meth <- list(c$weights); names(meth) <- c$name
        contrast(emm, meth, adjust = c$adjust)
      } else if (c$method == "trt.vs.ctrl" && !is.null(c$ref)) {
        contrast(emm, "trt.vs.ctrl", ref = match(c$ref, levs), adjust = c$adjust)
      } else contrast(emm, c$method, adjust = c$adjust)
      cs <- summary(ce)
      mesg <- attr(cs, "mesg")
      cs <- as.data.frame(cs)
      blk <- list(method = c$method, adjust = c$adjust, mesg = nz(mesg),
           rows = lapply(seq_len(nrow(cs)), function(i) {
             row <- list(contrast = as.character(cs$contrast[i]))
             if (!is.null(r$by)) row$by <- paste(sapply(r$by, function(v) as.character(cs[[v]][i])), collapse = ", ")
             c(row, list(estimate = cs$estimate[i], std_error = cs$SE[i], df = cs$df[i],
                         t_value = cs$t.ratio[i], p_value = cs$p.value[i]))
           }))
      if (!EMM_MESG) blk$mesg <- NULL
      blk
    })
    o <- list(specs = r$specs)
    if (!is.null(r$by)) o$by <- r$by
    c(o, list(df_method = dfm, emmeans = em, contrasts = con))
  })
}

lmer_ref <- function(m, blups = TRUE, r2 = TRUE, vc = TRUE, emm = NULL, kr = isREML(m), extra = list()) {
  reml <- isREML(m)
  cs <- summary(m)$coefficients
  krs <- if (kr) summary(m, ddf = "Kenward-Roger")$coefficients else NULL
  fe <- lapply(seq_len(nrow(cs)), function(i) list(
    term = rownames(cs)[i], estimate = cs[i, 1], std_error = cs[i, 2], df_satterthwaite = cs[i, 3],
    t_value = cs[i, 4], p_value_satterthwaite = cs[i, 5],
    std_error_kenward_roger = if (kr) krs[i, 2] else NULL, df_kenward_roger = if (kr) krs[i, 3] else NULL,
    p_value_kenward_roger = if (kr) krs[i, 5] else NULL))
  if (reml && !kr)  # Kenward-Roger not computed for this REML fit: leave the keys out (not null)
    fe <- lapply(fe, function(r) r[!grepl("kenward", names(r))])
  a_s <- anova(m, type = 3)
  a_k <- if (kr) anova(m, type = 3, ddf = "Kenward-Roger") else NULL
  an <- lapply(seq_len(nrow(a_s)), function(i) list(
    term = rownames(a_s)[i], num_df = a_s$NumDF[i],
    den_df_satterthwaite = a_s$DenDF[i], f_satterthwaite = a_s$`F value`[i], p_satterthwaite = a_s$`Pr(>F)`[i],
    den_df_kenward_roger = if (kr) a_k$DenDF[i] else NULL, f_kenward_roger = if (kr) a_k$`F value`[i] else NULL,
    p_kenward_roger = if (kr) a_k$`Pr(>F)`[i] else NULL))
  if (reml && !kr) an <- lapply(an, function(r) r[!grepl("kenward", names(r))])
  ll <- logLik(m)
  out <- list(method = if (reml) "REML" else "ML", nobs = nobs(m), n_groups = as.list(ngrps(m)),
              loglik = as.numeric(ll), aic = AIC(m), bic = BIC(m), deviance = -2 * as.numeric(ll),
              singular = isSingular(m), fixed_effects = fe)
  if (vc) {
    v <- as.data.frame(VarCorr(m))
    out$variance_components <- lapply(seq_len(nrow(v)), function(i) list(
      group = v$grp[i], var1 = nz(v$var1[i]), var2 = nz(v$var2[i]), vcov = v$vcov[i], sdcor = v$sdcor[i]))
  }
  out$anova <- an
  if (blups) {
    re <- as.data.frame(ranef(m, condVar = TRUE))
    b <- list()
    for (g in unique(as.character(re$grpvar))) {
      rg <- re[re$grpvar == g, ]
      terms <- unique(as.character(rg$term))
      e <- list(levels = as.character(rg$grp[rg$term == terms[1]]))
      for (t in terms) {
        e[[t]] <- rg$condval[rg$term == t]
        e[[paste0("se_", t)]] <- rg$condsd[rg$term == t]
      }
      b[[g]] <- e
    }
    out$blups <- b
  }
  if (r2) {
    r <- suppressWarnings(r2_nakagawa(m)); ic <- suppressWarnings(icc(m))
    out$r2_marginal <- nz(r$R2_marginal); out$r2_conditional <- nz(r$R2_conditional)
    out$icc_adjusted <- if (is.list(ic)) nz(ic$ICC_adjusted) else NULL
  }
  if (!is.null(emm)) {
    if (reml) {
      out$emmeans <- emm_blocks(m, emm, "kenward-roger")
      out$emmeans_satterthwaite <- emm_blocks(m, emm, "satterthwaite")
    } else out$emmeans <- emm_blocks(m, emm, "satterthwaite")
  }
  c(out, extra)
}

# control: the conformance cases use bobyqa with a generous budget; the public cases were made with
# lmer's defaults (LMER_CONTROL <- lmerControl() before sourcing reproduces them).
if (!exists("LMER_CONTROL")) LMER_CONTROL <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5))
if (!exists("EMM_MESG")) EMM_MESG <- TRUE  # the public cases do not record emmeans' messages
lmer_case <- function(name, data, formula, method = "REML", factors = character(0), refs = list(),
                      emm = NULL, ...) {
  if (!want(name)) return(invisible())
  d <- prep(read_data(data), factors, refs)
  m <- lmer(as.formula(formula), data = d, REML = method == "REML", control = LMER_CONTROL)
  save_case(name, spec_of(data, formula, method, factors, refs, emm = emm), lmer_ref(m, emm = emm, ...))
}

# ----- likelihood-ratio test of a random term (ML fits, boundary mixture) -------------------
lrt_case <- function(name, data, formula, reduced, method = "REML", factors = character(0), k, term) {
  if (!want(name)) return(invisible())
  d <- prep(read_data(data), factors)
  ctl <- lmerControl(optimizer = "bobyqa")
  m1 <- lmer(as.formula(formula), data = d, REML = FALSE, control = ctl)
  m0 <- if (grepl("|", reduced, fixed = TRUE)) lmer(as.formula(reduced), data = d, REML = FALSE, control = ctl)
        else lm(as.formula(reduced), data = d)
  l1 <- as.numeric(logLik(m1)); l0 <- as.numeric(logLik(m0))
  stat <- max(0, 2 * (l1 - l0))
  naive <- pchisq(stat, k, lower.tail = FALSE)
  low <- if (k == 1) as.numeric(stat <= 0) else pchisq(stat, k - 1, lower.tail = FALSE)
  ref <- list(term = term, reduced_formula = reduced, df = k, statistic = stat, p_naive = naive,
              p_boundary = 0.5 * low + 0.5 * naive, loglik_null = l0, loglik_alt = l1)
  save_case(name, spec_of(data, formula, method, factors, ret = TRUE), ref)
}

# ----- lm -------------------------------------------------------------------------------------
lm_case <- function(name, data, formula, factors = character(0), refs = list()) {
  if (!want(name)) return(invisible())
  d <- prep(read_data(data), factors, refs)
  m <- lm(as.formula(formula), data = d)
  s <- summary(m)
  cs <- s$coefficients
  fe <- lapply(seq_len(nrow(cs)), function(i) list(term = rownames(cs)[i], estimate = cs[i, 1],
    std_error = cs[i, 2], t_value = cs[i, 3], p_value = cs[i, 4]))
  a <- anova(m)
  at <- lapply(seq_len(nrow(a)), function(i) list(term = trimws(rownames(a)[i]), df = a$Df[i],
    sum_sq = a$`Sum Sq`[i], mean_sq = a$`Mean Sq`[i], f = nz(a$`F value`[i]), p = nz(a$`Pr(>F)`[i])))
  fs <- s$fstatistic
  ll <- logLik(m)
  gl <- list(r_squared = s$r.squared, adj_r_squared = s$adj.r.squared, sigma = s$sigma,
             statistic = unname(fs[1]), p_value = unname(pf(fs[1], fs[2], fs[3], lower.tail = FALSE)),
             df = unname(fs[2]), loglik = as.numeric(ll), aic = AIC(m), bic = BIC(m),
             deviance = deviance(m), df_residual = df.residual(m), nobs = nobs(m))
  dw <- dwtest(m); bp <- bptest(m); sw <- shapiro.test(residuals(m))
  ref <- list(fixed_effects = fe, anova_type1 = at, glance = gl,
              durbin_watson = unname(dw$statistic), breusch_pagan_p = unname(bp$p.value),
              breusch_pagan = unname(bp$statistic), shapiro_wilk_p = sw$p.value,
              shapiro_wilk = unname(sw$statistic))
  save_case(name, spec_of(data, formula, NULL, factors, refs), ref)
}

# ----- repeated structures (nlme, REML) ---------------------------------------------------
# positions = the sorted distinct values of the index (a missing visit is a gap)
rep_case <- function(name, data, fixed, structure, subject, index, random = NULL, factors = character(0),
                     refs = list(), formula = fixed, method = "REML") {
  if (!want(name)) return(invisible())
  d <- prep(read_data(data), factors, refs)
  d$pos <- match(d[[index]], sort(unique(d[[index]])))
  # the variance strata named by position (conformance) or by the index's own values (public cases)
  d$posf <- if (VARIDENT_BY_INDEX) factor(d[[index]]) else factor(d$pos)
  d$subj__ <- factor(d[[subject]])
  d <- d[order(d$subj__, d$pos), ]
  cf <- switch(structure,
    ID = NULL, DIAG = NULL,
    CS = corCompSymm(form = ~ 1 | subj__), CSH = corCompSymm(form = ~ 1 | subj__),
    AR1 = corAR1(form = ~ pos | subj__), ARH1 = corAR1(form = ~ pos | subj__),
    TOEP = corARMA(form = ~ pos | subj__, p = length(unique(d$pos)) - 1),
    UN = corSymm(form = ~ pos | subj__))
  wf <- if (structure %in% c("DIAG", "CSH", "ARH1", "UN")) varIdent(form = ~ 1 | posf) else NULL
  ctl <- glsControl(maxIter = 500, msMaxIter = 500)
  f <- as.formula(fixed)
  if (is.null(random)) {
    m <- gls(f, data = d, correlation = cf, weights = wf, method = method, control = ctl)
  } else {
    m <- lme(f, random = as.formula(random), data = d, correlation = cf, weights = wf, method = method,
             control = lmeControl(maxIter = 500, msMaxIter = 500))
  }
  # one subject observed at every position (the data have several)
  npos <- length(unique(d$pos))
  full <- names(which(table(d$subj__) == npos))[1]
  if (is.null(random) && is.null(cf)) {  # ID, DIAG: getVarCov does not do uncorrelated errors
    rows <- which(d$subj__ == full)
    w <- if (is.null(wf)) rep(1, length(rows)) else varWeights(m$modelStruct$varStruct)[rows]
    V <- diag(m$sigma^2 / w^2)
  } else if (is.null(random)) {
    V <- unclass(getVarCov(m, individual = full))
  } else {
    V <- unclass(getVarCov(m, individuals = full, type = "marginal"))[[1]]
  }
  V <- matrix(as.numeric(V), nrow(V))
  stopifnot(nrow(V) == npos)
  tt <- summary(m)$tTable
  # nlme scales ML standard errors by sqrt(N / (N - p)); SAS PROC MIXED, mmrm and lme4 do not, and
  # neither does MixGUI: the reference is unscaled here (REML is unchanged)
  se_unscale <- if (method == "ML") sqrt((nobs(m) - nrow(tt)) / nobs(m)) else 1
  fe <- lapply(seq_len(nrow(tt)), function(i) list(term = rownames(tt)[i], estimate = tt[i, "Value"],
    std_error = tt[i, "Std.Error"] * se_unscale, t_value = tt[i, "t-value"] / se_unscale))
  cp <- as.list(coef(m$modelStruct, unconstrained = FALSE))
  rho <- NULL
  if (structure %in% c("CS", "CSH")) rho <- unname(coef(m$modelStruct$corStruct, unconstrained = FALSE))[1]
  if (structure %in% c("AR1", "ARH1")) rho <- unname(coef(m$modelStruct$corStruct, unconstrained = FALSE))[1]
  ll <- logLik(m)
  ref <- list(method = "REML", nobs = nobs(m), structure = structure, loglik = as.numeric(ll),
              aic = AIC(m), bic = BIC(m), sigma = m$sigma, covariance_parameters = cp,
              marginal_covariance = V, rho = rho, fixed_effects = fe)
  ref$method <- method
  if (!is.null(random)) {  # as.data.frame(VarCorr()) layout: variances, then correlations, residual last
    G <- unclass(getVarCov(m)); nm <- colnames(G); q <- nrow(G)
    vcs <- lapply(seq_len(q), function(i) list(group = subject, var1 = nm[i], var2 = NULL, vcov = G[i, i],
                                                sdcor = sqrt(G[i, i])))
    for (i in seq_len(q)) for (j in seq_len(q)) if (i < j)
      vcs[[length(vcs) + 1]] <- list(group = subject, var1 = nm[i], var2 = nm[j], vcov = G[i, j],
                                     sdcor = G[i, j] / sqrt(G[i, i] * G[j, j]))
    vcs[[length(vcs) + 1]] <- list(group = "Residual", var1 = NULL, var2 = NULL, vcov = m$sigma^2, sdcor = m$sigma)
    ref$variance_components <- vcs
  }
  save_case(name, spec_of(data, formula, method, factors, refs,
                          repeated = list(structure = structure, subject = subject, index = index)), ref)
}

