# Extra conformance cases for `mixgui fit`, in the format of the public reference cases
# (specs/<case>.json = analysis file, ref/<case>.json = R's numbers, data/ = the data).
#
# Run from anywhere:  LC_ALL=C.UTF-8 Rscript tests/reference/conformance/make_conformance_refs.R
# Made with R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, nlme 3.1-162, emmeans 1.8.4-1,
# performance 0.10.2, lmtest (Debian 12 packages).
#
# Simulated data are written by this script (set.seed); public data (sleepstudy, pastes, penicillin)
# are copies of the public reference data. Every model is fitted on the CSV as read back from disk,
# exactly what `mixgui fit` reads. Key names follow the public refs: df_satterthwaite,
# std_error_kenward_roger, den_df_kenward_roger, emmeans (Kenward-Roger for REML fits) and
# emmeans_satterthwaite, statistic/p_boundary/p_naive for likelihood-ratio tests, glance/anova_type1
# for lm, marginal_covariance/rho for repeated structures (nlme::gls / nlme::lme).
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(pbkrtest); library(nlme); library(emmeans)
  library(performance); library(jsonlite); library(lmtest)
})
emm_options(msg.interaction = FALSE, msg.nesting = FALSE)
options(warn = 1)

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
setwd(here)
for (d in c("data", "specs", "ref")) dir.create(d, showWarnings = FALSE)
ONLY <- Sys.getenv("ONLY", "")  # regenerate one case: ONLY=crossed_slopes Rscript ...

# ---------------------------------------------------------------------------------------------
# helpers
write_obj <- function(x, path) {
  writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
             path, useBytes = TRUE)
}
read_data <- function(file) read.csv(file.path("data", file), check.names = FALSE, na.strings = c("", "NA"),
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
  write_obj(spec, file.path("specs", paste0(name, ".json")))
  write_obj(ref, file.path("ref", paste0(name, ".json")))
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
      list(method = c$method, adjust = c$adjust, mesg = nz(mesg),
           rows = lapply(seq_len(nrow(cs)), function(i) {
             row <- list(contrast = as.character(cs$contrast[i]))
             if (!is.null(r$by)) row$by <- paste(sapply(r$by, function(v) as.character(cs[[v]][i])), collapse = ", ")
             c(row, list(estimate = cs$estimate[i], std_error = cs$SE[i], df = cs$df[i],
                         t_value = cs$t.ratio[i], p_value = cs$p.value[i]))
           }))
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

lmer_case <- function(name, data, formula, method = "REML", factors = character(0), refs = list(),
                      emm = NULL, ...) {
  if (!want(name)) return(invisible())
  d <- prep(read_data(data), factors, refs)
  m <- lmer(as.formula(formula), data = d, REML = method == "REML",
            control = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
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
  d$posf <- factor(d$pos)
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

# ---------------------------------------------------------------------------------------------
# data
pub <- "/work/shared/reference/data"  # only used if a public file is missing here
for (f in c("sleepstudy.csv", "pastes.csv", "penicillin.csv", "orthodont_long.csv"))
  if (!file.exists(file.path("data", f))) {
    invisible(file.copy(file.path(pub, f), file.path("data", f))); Sys.chmod(file.path("data", f), "644")
  }
# InstEval in full (73421 ratings): the public copy, or lme4's data set written the same way
if (!file.exists(file.path("data", "insteval.csv"))) {
  if (file.exists(file.path(pub, "insteval.csv"))) {
    invisible(file.copy(file.path(pub, "insteval.csv"), file.path("data", "insteval.csv")))
    Sys.chmod(file.path("data", "insteval.csv"), "644")
  }
  else write.csv(data.frame(lapply(lme4::InstEval[, c("s", "d", "studage", "lectage", "service", "dept")],
                                   function(v) as.character(v)), y = lme4::InstEval$y),
                 file.path("data", "insteval.csv"), row.names = FALSE)
}
wcsv <- function(d, f) write.csv(d, file.path("data", f), row.names = FALSE, na = "", fileEncoding = "UTF-8")

# crossed subjects x items, random slope of a trial-level covariate, an item-level condition
set.seed(101)
ns <- 30; ni <- 20
cr <- expand.grid(item = sprintf("I%02d", 1:ni), subj = sprintf("S%02d", 1:ns), stringsAsFactors = FALSE)[, 2:1]
cr$cond <- ifelse(as.integer(substr(cr$item, 2, 3)) %% 2 == 0, "b", "a")
cr$x <- round(rnorm(nrow(cr)), 3)
U <- MASS::mvrnorm(ns, c(0, 0), matrix(c(400, 0.4 * 20 * 4, 0.4 * 20 * 4, 16), 2))
w <- rnorm(ni, 0, 10)
si <- match(cr$subj, sprintf("S%02d", 1:ns)); ii <- match(cr$item, sprintf("I%02d", 1:ni))
cr$y <- round(300 + 8 * cr$x + 12 * (cr$cond == "b") + U[si, 1] + U[si, 2] * cr$x + w[ii] + rnorm(nrow(cr), 0, 15), 2)
cr <- cr[-sample(nrow(cr), 48), ]
set.seed(102)  # a second trial-level covariate, with its own random slope over subjects
vz <- rnorm(ns, 0, 8)
cr$z <- round(runif(nrow(cr), -2, 2), 3)
cr$y2 <- round(cr$y + 5 * cr$z + vz[match(cr$subj, sprintf("S%02d", 1:ns))] * cr$z, 2)
wcsv(cr, "crossed.csv")

# InstEval: one department (crossed students x lecturers), fixed service and student age
ie <- subset(lme4::InstEval, dept == "1")
ie <- data.frame(s = as.integer(as.character(ie$s)), d = as.integer(as.character(ie$d)),
                 studage = as.integer(as.character(ie$studage)), service = as.integer(as.character(ie$service)),
                 y = ie$y)
wcsv(ie, "insteval_dept1.csv")

# three nested levels, unbalanced replication
set.seed(202)
n3 <- expand.grid(c = c("c1", "c2"), b = c("b1", "b2", "b3"), a = paste0("A", 1:6), stringsAsFactors = FALSE)
n3 <- n3[rep(seq_len(nrow(n3)), sample(2:4, nrow(n3), replace = TRUE)), c("a", "b", "c")]
ua <- rnorm(6, 0, 2); ub <- rnorm(18, 0, 1.5); uc <- rnorm(36, 0, 1)
ia <- match(n3$a, paste0("A", 1:6)); ib <- (ia - 1) * 3 + match(n3$b, c("b1", "b2", "b3"))
ic <- (ib - 1) * 2 + match(n3$c, c("c1", "c2"))
n3$x <- round(runif(nrow(n3), 0, 10), 2)
n3$y <- round(20 + 0.5 * n3$x + ua[ia] + ub[ib] + uc[ic] + rnorm(nrow(n3)), 3)
wcsv(n3, "nested3.csv")

# sites with plots, random slope of x over sites, a plot-level treatment, unbalanced
set.seed(303)
rows <- list()
for (s in 1:10) for (p in 1:sample(2:4, 1)) {
  k <- sample(3:6, 1)
  rows[[length(rows) + 1]] <- data.frame(site = sprintf("site%02d", s), plot = paste0("p", p),
                                         trt = if (p %% 2 == 1) "ctl" else "fert", n = k)
}
ns_ <- do.call(rbind, rows)
ns_ <- ns_[rep(seq_len(nrow(ns_)), ns_$n), c("site", "plot", "trt")]
us <- MASS::mvrnorm(10, c(0, 0), matrix(c(4, 0.5, 0.5, 0.36), 2))
isite <- as.integer(substr(ns_$site, 5, 6))
pid <- as.integer(factor(paste(ns_$site, ns_$plot)))
up <- rnorm(max(pid), 0, 1.2)
ns_$x <- round(runif(nrow(ns_), -2, 2), 2)
ns_$y <- round(10 + 1.5 * ns_$x + 2 * (ns_$trt == "fert") + us[isite, 1] + us[isite, 2] * ns_$x + up[pid] +
               rnorm(nrow(ns_), 0, 1), 3)
wcsv(ns_, "sites.csv")

# a categorical random slope: 3 conditions within each of 20 groups
set.seed(404)
cs_ <- expand.grid(rep = 1:3, f = c("lo", "mid", "hi"), g = sprintf("g%02d", 1:20), stringsAsFactors = FALSE)[, 3:1]
Sg <- matrix(c(4, 2, 1, 2, 3, 1.5, 1, 1.5, 5), 3)
ug <- MASS::mvrnorm(20, c(0, 0, 0), Sg)
fi <- match(cs_$f, c("lo", "mid", "hi")); gi <- as.integer(substr(cs_$g, 2, 3))
cs_$y <- round(c(10, 12, 15)[fi] + ug[cbind(gi, fi)] + rnorm(nrow(cs_), 0, 1), 3)
cs_ <- cs_[-sample(nrow(cs_), 15), ]
wcsv(cs_[, c("g", "f", "y")], "catslope.csv")

# split plot: between-subject A (3 levels), within-subject B (3 levels), a covariate; unbalanced
set.seed(505)
sp <- expand.grid(rep = 1:2, B = c("t1", "t2", "t3"), subj = sprintf("s%02d", 1:24), stringsAsFactors = FALSE)
sp$A <- c("ctl", "low", "high")[(as.integer(substr(sp$subj, 2, 3)) - 1) %% 3 + 1]
sp$x <- round(rnorm(nrow(sp), 50, 10), 1)
beA <- c(ctl = 0, low = 2, high = 4); beB <- c(t1 = 0, t2 = 1, t3 = 3)
us2 <- rnorm(24, 0, 2.5)
sp$y <- round(30 + beA[sp$A] + beB[sp$B] + ifelse(sp$A == "high" & sp$B == "t3", 2, 0) + 0.08 * sp$x +
              us2[as.integer(substr(sp$subj, 2, 3))] + rnorm(nrow(sp), 0, 1.5), 2)
sp <- sp[-sample(nrow(sp), 22), c("subj", "A", "B", "x", "y")]
wcsv(sp, "splitplot.csv")

# three factors (P between groups, Q and W within) and a covariate
set.seed(606)
tw <- expand.grid(W = c("w1", "w2"), Q = c("q1", "q2", "q3"), g = sprintf("G%02d", 1:30), stringsAsFactors = FALSE)[, 3:1]
tw$P <- ifelse(as.integer(substr(tw$g, 2, 3)) <= 14, "no", "yes")
tw$x <- round(runif(nrow(tw), 0, 5), 2)
ug3 <- rnorm(30, 0, 1.5)
qi <- match(tw$Q, c("q1", "q2", "q3"))
tw$y <- round(5 + (tw$P == "yes") * 1 + c(0, 0.5, 1.5)[qi] + (tw$W == "w2") * 0.7 +
              (tw$P == "yes") * (tw$W == "w2") * c(0, 0.8, -0.5)[qi] + c(0.3, 0.6, 0.1)[qi] * tw$x +
              ug3[as.integer(substr(tw$g, 2, 3))] + rnorm(nrow(tw)), 3)
tw <- tw[-sample(nrow(tw), 13), c("g", "P", "Q", "W", "x", "y")]
wcsv(tw, "threeway.csv")

# missing values in the outcome and in predictors (rows dropped)
set.seed(707)
mi <- data.frame(g = rep(sprintf("h%02d", 1:15), each = 8))
mi$f <- sample(c("red", "green", "blue"), nrow(mi), replace = TRUE)
mi$x <- round(rnorm(nrow(mi), 5, 2), 2)
mi$y <- round(3 + 0.6 * mi$x + c(blue = 0, green = 1, red = -1)[mi$f] + rnorm(15, 0, 1.5)[as.integer(substr(mi$g, 2, 3))] +
              rnorm(nrow(mi)), 3)
mi$y[sample(nrow(mi), 6)] <- NA
mi$x[sample(nrow(mi), 7)] <- NA
mi$f[sample(nrow(mi), 5)] <- NA
mi$x[mi$g == "h07"] <- NA  # a whole group dropped
mi$g[sample(which(!is.na(mi$y) & !is.na(mi$x) & !is.na(mi$f)), 3)] <- NA  # missing grouping values
wcsv(mi, "missing.csv")

# the same data with missing values written as NA (R's write.csv default) instead of empty cells
write.csv(mi, file.path("data", "missing_na.csv"), row.names = FALSE, fileEncoding = "UTF-8")

# no group variance at all: a singular fit
set.seed(800)  # a seed where lme4 puts the group variance exactly at 0
sg <- data.frame(g = rep(sprintf("k%02d", 1:12), each = 6))
sg$x <- round(rnorm(nrow(sg)), 3)
sg$y <- round(1 + 0.5 * sg$x + rnorm(nrow(sg)), 3)
wcsv(sg, "singular.csv")

# a random slope perfectly correlated with the intercept (singular through the correlation)
set.seed(1)
sc <- expand.grid(r = 1:3, c = c("c1", "c2"), b = c("b1", "b2", "b3"), a = paste0("A", 1:6))
sc$y <- round(rnorm(nrow(sc)) + rnorm(6)[as.integer(sc$a)], 4)
sc$x <- round(rnorm(nrow(sc)), 4)
sc$g <- as.character(sc$a)
wcsv(sc[, c("g", "x", "y")], "singular_corr.csv")

# column names with spaces and non-ASCII letters
ss <- read_data("sleepstudy.csv")
un <- data.frame(`reaction time` = ss$Reaction, `días` = ss$Days, `niño` = paste0("n", ss$Subject),
                 `dose group` = ifelse(as.integer(ss$Subject) %% 2 == 0, "high dose", "low dose"),
                 check.names = FALSE)
wcsv(un, "unicode.csv")

# badly scaled: reaction in seconds, time in hours
sc <- data.frame(rt_s = ss$Reaction / 1000, hours = ss$Days * 24, Subject = ss$Subject)
wcsv(sc, "sleep_scaled.csv")

# an empty cell: no subject in A = high measured at B = t3 (the A:B column for it is aliased)
rd <- read_data("splitplot.csv")
wcsv(rd[!(rd$A == "high" & rd$B == "t3"), ], "splitplot_empty_cell.csv")

# repeated measures: visits at months 0, 1, 3, 6 (irregular), some missed
sim_rep <- function(seed, nsub, months, Sigma, miss) {
  set.seed(seed)
  T <- length(months)
  E <- MASS::mvrnorm(nsub, rep(0, T), Sigma)
  d <- expand.grid(month = months, id = sprintf("P%02d", 1:nsub), stringsAsFactors = FALSE)[, 2:1]
  d$arm <- ifelse(as.integer(substr(d$id, 2, 3)) %% 2 == 0, "drug", "placebo")
  d$y <- round(50 + 0.8 * d$month - 2 * (d$arm == "drug") + as.vector(t(E)), 3)
  keep <- rep(TRUE, nrow(d))
  cand <- which(as.integer(substr(d$id, 2, 3)) > 5)  # the first five subjects are complete
  keep[sample(cand, round(miss * nrow(d)))] <- FALSE
  d[keep, ]
}
ar <- function(T, phi, s2) s2 * phi^abs(outer(1:T, 1:T, "-"))
wcsv(sim_rep(901, 40, c(0, 1, 3, 6), ar(4, 0.6, 9) + 4, 0.12), "visits.csv")
csneg <- 6 * (diag(4) * 1.25 - 0.25)  # compound symmetry with correlation -0.25
wcsv(sim_rep(902, 40, c(0, 1, 3, 6), csneg, 0.10), "visits_neg.csv")
un5 <- diag(c(2, 2.5, 3, 3.5, 4)) %*% (0.5 + 0.5 * ar(5, 0.7, 1)) %*% diag(c(2, 2.5, 3, 3.5, 4))
wcsv(sim_rep(903, 45, c(0, 2, 4, 8, 12), un5, 0.10), "visits5.csv")

# ---------------------------------------------------------------------------------------------
# cases
lmer_case("crossed_slopes", "crossed.csv", "y ~ x + cond + (1 + x | subj) + (1 | item)")
lmer_case("insteval_dept1", "insteval_dept1.csv", "y ~ service + studage + (1 | s) + (1 | d)",
          factors = c("service", "studage"), blups = FALSE)
# lme4's own example model; Kenward-Roger is out of reach at this size (n = 73421, crossed), so the
# ref has no Kenward-Roger keys and the Kenward-Roger run only checks estimates and standard errors.
lmer_case("insteval_full", "insteval.csv", "y ~ service * dept + (1 | s) + (1 | d)",
          factors = c("service", "dept"), kr = FALSE, blups = FALSE, r2 = FALSE)
lmer_case("fixed_nested_factor", "splitplot.csv", "y ~ A/B + (1 | subj)", refs = list(A = "ctl"))
lmer_case("nested3", "nested3.csv", "y ~ x + (1 | a/b/c)")
lmer_case("nested_slope", "sites.csv", "y ~ x + trt + (x | site) + (1 | site:plot)")
lmer_case("kr_nested_unbal", "sites.csv", "y ~ trt * x + (1 | site/plot)", refs = list(trt = "fert"))
lmer_case("cat_slope", "catslope.csv", "y ~ f + (f | g)", refs = list(f = "lo"))
lmer_case("cat_slope_noint", "catslope.csv", "y ~ f + (0 + f | g)", refs = list(f = "lo"))
# `||` with a factor: lme4 expands (f || g) to (1 | g) + (0 + f | g) (the factor's columns stay
# correlated). That model is over-parameterised, so only the likelihood and fixed effects are unique.
if (want("factor_dblbar")) {
  d <- prep(read_data("catslope.csv"), refs = list(f = "lo"))
  m <- lmer(y ~ f + (f || g), data = d, control = lmerControl(optimizer = "bobyqa"))
  cs <- summary(m)$coefficients
  save_case("factor_dblbar", spec_of("catslope.csv", "y ~ f + (f || g)", refs = list(f = "lo")),
            list(method = "REML", nobs = nobs(m), loglik = as.numeric(logLik(m)), aic = AIC(m), bic = BIC(m),
                 deviance = -2 * as.numeric(logLik(m)), lme4_expansion = "(1 | g) + (0 + f | g)",
                 fixed_effects = lapply(seq_len(nrow(cs)), function(i) list(term = rownames(cs)[i],
                   estimate = cs[i, 1], std_error = cs[i, 2]))))
}
lmer_case("noint_fixed", "splitplot.csv", "y ~ 0 + A + x + (1 | subj)", refs = list(A = "ctl"))
lmer_case("anova3_split_kr", "splitplot.csv", "y ~ A * B + x + (1 | subj)", refs = list(A = "low"))
lmer_case("emm_by", "splitplot.csv", "y ~ A * B + (1 | subj)", refs = list(A = "ctl"),
          emm = list(list(specs = "B", by = "A", contrasts = list(ctr("pairwise", "tukey"), ctr("poly", "none"),
                                                                    ctr("trt.vs.ctrl", "holm", ref = "t2"))),
                     list(specs = "A", by = "B", contrasts = list(ctr("consec", "sidak"), ctr("pairwise", "bonferroni")))))
lmer_case("emm_two_specs", "splitplot.csv", "y ~ A * B + (1 | subj)", refs = list(A = "ctl"),
          emm = list(list(specs = c("A", "B"), contrasts = list(ctr("pairwise", "tukey"), ctr("consec", "holm")))))
lmer_case("emm_covariate_unbal", "splitplot.csv", "y ~ A + B + x + (1 | subj)", refs = list(A = "low"),
          emm = list(list(specs = "A", contrasts = list(
            ctr("pairwise", "tukey"), ctr("trt.vs.ctrl", "holm", ref = "high"), ctr("pairwise", "sidak"),
            ctr("consec", "tukey"), ctr("poly", "bonferroni"),
            ctr("custom", "none", weights = c(1, -0.5, -0.5), name = "low - others"))),
            list(specs = "B", contrasts = list(ctr("trt.vs.ctrl", "sidak"), ctr("poly", "none")))))
lmer_case("threeway_fac", "threeway.csv", "y ~ P * Q * W + (1 | g)", refs = list(Q = "q2"))
lmer_case("num_by_factor", "threeway.csv", "y ~ x * Q + P + (1 | g)", refs = list(Q = "q3"),
          emm = list(list(specs = "Q", contrasts = list(ctr("pairwise", "tukey")))))
lmer_case("missing_predictors", "missing.csv", "y ~ x + f + (1 | g)", refs = list(f = "green"))
lmer_case("ml_slope", "sleepstudy.csv", "Reaction ~ Days + (Days | Subject)", method = "ML",
          factors = "Subject")
lmer_case("ml_factor_emm", "splitplot.csv", "y ~ A * B + (1 | subj)", method = "ML",
          emm = list(list(specs = "A", contrasts = list(ctr("pairwise", "tukey")))))
lmer_case("singular_ri", "singular.csv", "y ~ x + (1 | g)", r2 = FALSE)
lmer_case("singular_corr", "singular_corr.csv", "y ~ x + (x | g)", r2 = FALSE)
lmer_case("unicode_names", "unicode.csv", "`reaction time` ~ `días` + `dose group` + (`días` | niño)")

lmer_case("nested_slash_slope", "sites.csv", "y ~ x + (x | site/plot)")
lmer_case("separate_slopes", "splitplot.csv", "y ~ A + A:x + (1 | subj)", refs = list(A = "ctl"))
lmer_case("interaction_only_num", "splitplot.csv", "y ~ x + x:B + (1 | subj)")
lmer_case("threeway_num_kr", "threeway.csv", "y ~ P * Q * x + (1 | g)", refs = list(P = "yes"))
lmer_case("rank_deficient_emm", "splitplot_empty_cell.csv", "y ~ A * B + (1 | subj)",
          emm = list(list(specs = "A", contrasts = list(ctr("pairwise", "tukey"))),
                     list(specs = "B", by = "A", contrasts = list(ctr("pairwise", "none")))))
lmer_case("numeric_factor_ref", "visits.csv", "y ~ month * arm + (1 | id)", factors = "month",
          refs = list(month = "3", arm = "placebo"),
          emm = list(list(specs = "month", by = "arm", contrasts = list(
            ctr("pairwise", "tukey"), ctr("trt.vs.ctrl", "holm", ref = "0"), ctr("poly", "none"),
            ctr("custom", "none", weights = c(1, -1 / 3, -1 / 3, -1 / 3), name = "3 vs rest")))))
lmer_case("badscale_rs", "sleep_scaled.csv", "rt_s ~ hours + (hours | Subject)", factors = "Subject")
lmer_case("dblbar_two_slopes", "crossed.csv", "y2 ~ x + z + (x + z || subj) + (1 | item)")

lmer_case("slopes_3x3", "crossed.csv", "y2 ~ x + z + cond + (1 + x + z | subj) + (1 | item)")
lmer_case("missing_na_strings", "missing_na.csv", "y ~ x * f + (1 | g)")
lmer_case("orthodont_rs_emm", "orthodont_long.csv", "distance ~ agen * Sex + (agen | Subject)",
          refs = list(Sex = "Male"),
          emm = list(list(specs = "Sex", contrasts = list(ctr("pairwise", "none")))))
lmer_case("poly5", "visits5.csv", "y ~ month + arm + (1 | id)", factors = "month",
          emm = list(list(specs = "month", contrasts = list(ctr("poly", "none"), ctr("consec", "holm"),
                                                            ctr("trt.vs.ctrl", "sidak"), ctr("pairwise", "tukey")))))

lrt_case("lrt_slope", "sleepstudy.csv", "Reaction ~ Days + (Days | Subject)", "Reaction ~ Days + (1 | Subject)",
         factors = "Subject", k = 2, term = "Days in (Days | Subject)")
lrt_case("lrt_slope_uncorr", "sleepstudy.csv", "Reaction ~ Days + (Days || Subject)",
         "Reaction ~ Days + (1 | Subject)", factors = "Subject", k = 1, term = "Days in (Days || Subject)")
lrt_case("lrt_nested", "pastes.csv", "strength ~ 1 + (1 | batch/cask)", "strength ~ 1 + (1 | batch:cask)",
         method = "ML", k = 1, term = "(1 | batch)")
lrt_case("lrt_crossed_slope", "crossed.csv", "y ~ x + cond + (1 + x | subj) + (1 | item)",
         "y ~ x + cond + (1 | subj) + (1 | item)", k = 2, term = "x in (1 + x | subj)")
lrt_case("lrt_penicillin", "penicillin.csv", "diameter ~ 1 + (1 | plate) + (1 | sample)",
         "diameter ~ 1 + (1 | sample)", k = 1, term = "(1 | plate)")

rep_case("rep_ar1_gaps", "visits.csv", "y ~ arm + month", "AR1", "id", "month", refs = list(arm = "placebo"))
rep_case("rep_arh1_gaps", "visits.csv", "y ~ arm + month", "ARH1", "id", "month")
rep_case("rep_toep_gaps", "visits.csv", "y ~ arm + month", "TOEP", "id", "month")
rep_case("rep_ri_ar1", "visits.csv", "y ~ arm + month", "AR1", "id", "month", random = "~ 1 | subj__",
         formula = "y ~ arm + month + (1 | id)")
rep_case("rep_rs_ar1", "visits.csv", "y ~ arm + month", "AR1", "id", "month", random = "~ month | subj__",
         formula = "y ~ arm + month + (month | id)")
rep_case("rep_ri_diag", "visits5.csv", "y ~ arm + month", "DIAG", "id", "month", random = "~ 1 | subj__",
         formula = "y ~ arm + month + (1 | id)")
rep_case("rep_ri_ar1_ml", "visits.csv", "y ~ arm + month", "AR1", "id", "month", random = "~ 1 | subj__",
         formula = "y ~ arm + month + (1 | id)", method = "ML")
rep_case("rep_cs_ml", "visits.csv", "y ~ arm * month", "CS", "id", "month", method = "ML")
rep_case("rep_un_orthodont_occ", "orthodont_long.csv", "distance ~ agen * Sex", "UN", "Subject", "occ",
         refs = list(Sex = "Male"))
rep_case("rep_cs_negative", "visits_neg.csv", "y ~ arm + month", "CS", "id", "month")
rep_case("rep_un5_gaps", "visits5.csv", "y ~ arm * month", "UN", "id", "month")
rep_case("rep_diag", "visits5.csv", "y ~ arm + month", "DIAG", "id", "month")
rep_case("rep_id", "visits.csv", "y ~ arm + month", "ID", "id", "month")

lm_case("lm_factor_num", "threeway.csv", "y ~ Q * x + P", refs = list(Q = "q3", P = "yes"))
lm_case("lm_noint", "splitplot.csv", "y ~ 0 + A + x", refs = list(A = "high"))
lm_case("lm_missing", "missing.csv", "y ~ f * x", refs = list(f = "red"))
lm_case("lm_interaction_only", "splitplot.csv", "y ~ B + A:x", refs = list(B = "t2"))
