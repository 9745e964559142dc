#!/usr/bin/env bash
# Developer's tool, not run by CI or `make test`: installs R's openpharma/mmrm package as the
# benchmark peer of bench/mmrm_fit.py (its code never enters this repository).
#
# mmrm has no Debian package and CRAN may not be reachable, so it is built from a source tree
# given as the argument — a checkout or export of https://github.com/openpharma/mmrm, e.g.
#   git clone https://github.com/openpharma/mmrm /tmp/mmrm-git
#   git -C /tmp/mmrm-git archive v0.3.18 | tar -x -C /tmp/mmrm-src   (or any newer revision)
#   sudo bash scripts/install-r-mmrm.sh /tmp/mmrm-src
# Everything it needs is taken from Debian (bookworm: R 4.2.2, TMB 1.9.2, emmeans 1.8.4,
# car 3.1-1). mmrm 0.3.18 (tag v0.3.18 and the next commit, ec290b2) builds against these; it
# warns at load that TMB is below 1.9.15 ("reproducible model fits are not guaranteed"), and
# car 3.1-1 is below the 3.1.2 that mmrm registers its car::Anova method with, so
# bench/mmrm_fit.py registers it itself. The compile takes ~6 minutes on one core.
set -euo pipefail
src=${1:?usage: install-r-mmrm.sh MMRM_SOURCE_DIR}
[ -f "$src/DESCRIPTION" ] || { echo "no DESCRIPTION in $src" >&2; exit 1; }
pkgs=(r-base-core r-base-dev r-cran-nlme r-cran-tmb r-cran-rcppeigen r-cran-rcpp r-cran-emmeans
  r-cran-car r-cran-checkmate r-cran-testthat r-cran-stringr r-cran-tibble r-cran-tidyr
  r-cran-lifecycle r-cran-generics r-cran-rdpack r-cran-matrix r-cran-mass)
if [ "$(id -u)" = "0" ]; then
  apt-get update -qq
  # another apt may hold the lock: retry for a few minutes
  for i in $(seq 1 10); do
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" \
      && break
    [ "$i" = 10 ] && exit 1
    echo "apt-get install failed (lock?), retrying in 20 s" >&2
    sleep 20
  done
else
  echo "not root: assuming these Debian packages are installed: ${pkgs[*]}" >&2
fi
grep -E '^(Version|Depends|Imports|LinkingTo):' -A12 "$src/DESCRIPTION" | sed -n '1,60p'
R CMD INSTALL "$src"
Rscript -e 'cat("mmrm", as.character(packageVersion("mmrm")), "installed\n")'
