#!/usr/bin/env bash
# Check the Debian packages nnlab needs and install only the missing ones.
#
#   tools/deps.sh [--quiet] [--check] [GROUP...]
#
# Groups (DESIGN section 6):
#   build   compiler, BLAS, CUnit, gnuplot, fonts          (required)
#   data    Debian's Fashion-MNIST package                 (optional: else `make datasets`)
#   docs    Doxygen
#   test    PyTorch (the oracle and the benchmark), clang (libFuzzer)
#   slides  pandoc and LaTeX for the beamer decks
#   all     every group
# Default: build data. --check only reports (exit 1 if something is missing).
# Installs with apt-get, through sudo when not root. On a system without apt
# it prints the package names for other systems and exits 1.
set -u

declare -A GROUP=(
  [build]="gcc make pkg-config libopenblas-dev libcunit1-dev zlib1g-dev gnuplot-nox fonts-dejavu-core"
  [data]="dataset-fashion-mnist"
  [docs]="doxygen"
  [test]="python3-torch python3-numpy clang libclang-rt-dev patch"
  [slides]="pandoc texlive-latex-recommended texlive-fonts-recommended texlive-pictures lmodern poppler-utils"
)
REQUIRED=build

quiet=0 check=0 groups=()
for a in "$@"; do
  case "$a" in
    --quiet) quiet=1 ;;
    --check) check=1 ;;
    all) groups+=(build data docs test slides) ;;
    build|data|docs|test|slides) groups+=("$a") ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "deps: unknown group '$a' (build data docs test slides all)" >&2; exit 2 ;;
  esac
done
[ ${#groups[@]} -eq 0 ] && groups=(build data)

say() { [ "$quiet" = 1 ] || echo "$@"; }

other_systems() {
  # Without apt we cannot tell packages apart, only whether the build finds
  # what it needs; if it does, there is nothing to say.
  if pkg-config --exists openblas cunit zlib 2>/dev/null && command -v gnuplot >/dev/null; then
    exit 0
  fi
  cat >&2 <<'MSG'
deps: this system has no apt-get/dpkg and the build does not find its libraries. Install:
  Debian/Ubuntu: gcc make pkg-config libopenblas-dev libcunit1-dev zlib1g-dev gnuplot-nox fonts-dejavu-core doxygen
  Fedora/RHEL:   sudo dnf install gcc make pkgconf-pkg-config openblas-devel CUnit-devel zlib-devel gnuplot dejavu-sans-fonts doxygen
  Arch:          sudo pacman -S gcc make pkgconf openblas cunit zlib gnuplot ttf-dejavu doxygen
  openSUSE:      sudo zypper install gcc make pkg-config openblas-devel cunit-devel zlib-devel gnuplot dejavu-fonts doxygen
  macOS (Homebrew): brew install pkg-config openblas cunit zlib gnuplot doxygen
                 (then: export PKG_CONFIG_PATH="$(brew --prefix openblas)/lib/pkgconfig")
Optional: PyTorch (pip install torch) for the oracle tests and the benchmark;
          Fashion-MNIST is fetched by `make datasets`.
MSG
  exit 1
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 || other_systems

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
    echo "deps: not root and no sudo; ask an administrator to install the packages below" >&2
  fi
fi

apt_install() {
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "$@"
}

status=0 updated=0
for g in "${groups[@]}"; do
  missing=()
  for p in ${GROUP[$g]}; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && { say "deps: $g: all present"; continue; }
  if [ "$check" = 1 ]; then
    echo "deps: $g: missing ${missing[*]}"; status=1; continue
  fi
  echo "deps: $g: installing ${missing[*]}"
  if ! apt_install "${missing[@]}"; then
    if [ "$updated" = 0 ]; then
      updated=1
      DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get update -q || true
    fi
    apt_install "${missing[@]}" || {
      if [ "$g" = "$REQUIRED" ]; then
        echo "deps: could not install ${missing[*]} (required); install them and retry" >&2
        status=1
      else
        echo "deps: could not install ${missing[*]} ($g group, optional): continuing without" >&2
      fi
    }
  fi
done
exit $status
