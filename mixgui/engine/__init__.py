"""The statistics of MixGUI: pure functions over arrays, no Qt, no files.

Subpackages, each with its public API in its ``__init__``:

``lmm``        linear mixed models as lme4 fits them (profiled REML/ML over a blocked Cholesky factor)
``glmm``       generalized linear mixed models as glmer/glmmTMB fit them (PIRLS, Laplace, adaptive quadrature)
``repeated``   residual (R-side) covariance structures within subject, as nlme::gls / SAS REPEATED
``inference``  tests of fixed effects (Satterthwaite, Kenward-Roger), type I/III tables, likelihood-ratio tests
``emmeans``    estimated marginal means, contrasts and p-value adjustments, trajectories for plots
``ols``        ordinary regression with R's numbers and its checks
``power``      power and sample size by simulation from a fitted or planned model
``effects``    effect sizes (R2, ICC, f2, variance proportions) and the pooling comparison

Top-level modules: :mod:`design` (formula + table -> arrays, R's codings), :mod:`covmodel` (the
protocol between fitters and inference), :mod:`modelfit` (the fields every fitted model shares, AIC/BIC),
:mod:`numerics` (shared derivatives and rounding).
"""
