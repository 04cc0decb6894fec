#!/usr/bin/env bash
# Fetch Fashion-MNIST and MNIST into datasets/downloads/<name>/, checked by
# SHA-256 (`make datasets` runs this).
#
#   usage: datasets/fetch.sh [fashion-mnist] [mnist]      (default: both)
#
# - A file already in place with the right sum is kept.
# - Fashion-MNIST: where Debian's dataset-fashion-mnist is installed
#   (/usr/share/datasets/fashion-mnist), its files are checked and linked
#   instead of downloaded.
# - Downloads go to FILE.part, are checked, then renamed: a broken or
#   interrupted download never sits under the final name.
# - Exits non-zero, saying what to do, when a file could not be had
#   (no network, no curl or wget, wrong sum).
#
# Where the sums come from
# - Fashion-MNIST, the .gz files at the canonical address
#   http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/: SHA-256 as
#   published with many independent loaders (e.g. TensorFlow Datasets); the
#   upstream README publishes MD5s (8d4fb7e6..., 25c81989..., bef4ecab...,
#   bb300cfd...) of the same files.
# - Fashion-MNIST, the inflated IDX contents: Debian recompressed the .gz
#   files (different bytes, same data), so a second sum covers the data
#   itself. Computed with `gzip -dc FILE | sha256sum` from Debian's
#   dataset-fashion-mnist 0.0~git20200523.55506a9-1, whose inflated files
#   also match the upstream MD5s of the raw IDX files (f4a8712d...,
#   9018921c..., 8181f547..., 15d48437...).
# - MNIST, the .gz files (mirror https://ossci-datasets.s3.amazonaws.com/mnist/,
#   the one PyTorch uses): SHA-256 as published by torchvision and
#   TensorFlow's loaders; the same files as LeCun's original page.
set -u
cd "$(dirname "$0")" || exit 2

# name  sha256 of the .gz  sha256 of its inflated contents (- when unknown)
FASHION_SUMS="
train-images-idx3-ubyte.gz 3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84 c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888
train-labels-idx1-ubyte.gz a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845 bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9
t10k-images-idx3-ubyte.gz 346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073 5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b
t10k-labels-idx1-ubyte.gz 67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5 0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34
"
FASHION_MIRRORS="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_DEBIAN=/usr/share/datasets/fashion-mnist

MNIST_SUMS="
train-images-idx3-ubyte.gz 440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609 -
train-labels-idx1-ubyte.gz 3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c -
t10k-images-idx3-ubyte.gz 8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6 -
t10k-labels-idx1-ubyte.gz f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6 -
"
MNIST_MIRRORS="https://ossci-datasets.s3.amazonaws.com/mnist/ https://storage.googleapis.com/cvdf-datasets/mnist/"

PART=""                       # the download in progress, removed if we stop
trap 'rm -f "$PART"' EXIT
trap 'exit 130' INT TERM
OFFLINE=0                     # set at the first "cannot reach the host"

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum | cut -d' ' -f1
  else shasum -a 256 | cut -d' ' -f1
  fi
}

# verify FILE GZSUM RAWSUM: the file itself has GZSUM, or (a recompressed
# copy) its inflated contents have RAWSUM.
verify() {
  [ -f "$1" ] || return 1
  [ "$(sha256 <"$1")" = "$2" ] && return 0
  [ "$3" != - ] && [ "$(gzip -dc <"$1" 2>/dev/null | sha256)" = "$3" ]
}

# download URL FILE: fetch into FILE; returns curl's or wget's status.
download() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 --connect-timeout 15 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q --tries=2 --timeout=15 -O "$2" "$1"
  else
    echo "  neither curl nor wget is installed" >&2
    return 127
  fi
}

# fetch_one NAME FILE GZSUM RAWSUM MIRRORS DEBIAN_DIR: make NAME/FILE right.
fetch_one() {
  local name=$1 file=$2 gzsum=$3 rawsum=$4 mirrors=$5 debian=$6
  local dest=downloads/$name/$file rc url
  rm -f "$dest.part"            # left by a run that was killed
  if verify "$dest" "$gzsum" "$rawsum"; then
    echo "  $file: ok (already present)"
    return 0
  fi
  if [ -e "$dest" ] || [ -L "$dest" ]; then
    echo "  $file: wrong checksum, fetching again"
    rm -f "$dest"
  fi
  if [ -n "$debian" ] && verify "$debian/$file" "$gzsum" "$rawsum"; then
    ln -s "$debian/$file" "$dest" && echo "  $file: ok (linked to $debian/$file)" && return 0
  fi
  if [ "$OFFLINE" = 1 ]; then
    echo "  $file: not downloaded (no network)"
    return 1
  fi
  for url in $mirrors; do
    PART=$dest.part
    rm -f "$PART"
    download "$url$file" "$PART"
    rc=$?
    if [ "$rc" = 0 ] && verify "$PART" "$gzsum" "$rawsum"; then
      mv -f "$PART" "$dest" && PART="" && echo "  $file: ok (downloaded from $url)" && return 0
    fi
    rm -f "$PART"
    PART=""
    if [ "$rc" = 0 ]; then
      echo "  $file: checksum mismatch from $url (discarded)"
    else
      echo "  $file: cannot download from $url (exit $rc)"
      # curl 6/7/28, wget 4: the host cannot be reached at all.
      case $rc in 6 | 7 | 28 | 4) OFFLINE=1; break ;; 127) break ;; esac
    fi
  done
  return 1
}

# fetch_set NAME: every file of one data set; non-zero if one is missing.
fetch_set() {
  local name=$1 sums mirrors debian="" missing=0 file gzsum rawsum
  case $name in
    fashion-mnist) sums=$FASHION_SUMS; mirrors=$FASHION_MIRRORS
                   [ -d "$FASHION_DEBIAN" ] && debian=$FASHION_DEBIAN ;;
    mnist) sums=$MNIST_SUMS; mirrors=$MNIST_MIRRORS ;;
  esac
  echo "$name -> datasets/downloads/$name/"
  mkdir -p "downloads/$name" || return 1
  while read -r file gzsum rawsum; do
    [ -n "$file" ] || continue
    fetch_one "$name" "$file" "$gzsum" "$rawsum" "$mirrors" "$debian" || missing=1
  done <<<"$sums"
  return $missing
}

sets=("$@")
[ $# -gt 0 ] || sets=(fashion-mnist mnist)
for name in "${sets[@]}"; do
  case $name in
    fashion-mnist | mnist) ;;
    *) echo "fetch: unknown data set '$name' (known: fashion-mnist mnist)" >&2; exit 2 ;;
  esac
done

status=0 failed=""
for name in "${sets[@]}"; do
  if ! fetch_set "$name"; then
    status=1
    failed="$failed $name"
  fi
done

if [ "$status" != 0 ]; then
  echo
  echo "fetch: could not get:$failed."
  [ "$OFFLINE" = 1 ] && echo "  The download hosts cannot be reached: no network here?"
  echo "  Fashion-MNIST without network: apt install dataset-fashion-mnist (Debian/Ubuntu)."
  echo "  Or copy the four .gz files into datasets/downloads/<name>/ and run this again"
  echo "  to check them. Synthetic sets (xor, spirals, moons, circles, blobs) and iris"
  echo "  need no download."
fi
exit $status
