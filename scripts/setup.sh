#!/usr/bin/env bash
# Idempotent setup for a fresh machine: Chinese fonts (Debian packages) and a virtualenv with
# the project installed. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_fonts=0
for font in /usr/share/fonts/truetype/arphic/uming.ttc /usr/share/fonts/truetype/arphic/ukai.ttc \
            /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc; do
  [ -f "$font" ] || need_fonts=1
done
if [ "$need_fonts" = 1 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "安装中文字体（fonts-arphic-uming fonts-arphic-ukai fonts-wqy-zenhei）…" >&2
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq fonts-arphic-uming fonts-arphic-ukai fonts-wqy-zenhei >/dev/null
  else
    echo "警告：没有 apt-get，请自行安装中文字体，或在 config.yaml 的 fonts 中指定字体文件" >&2
  fi
fi

# qpdf: the tests check the structure of every archival PDF (PDF/A-2b) with `qpdf --check`
if ! command -v qpdf >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "安装 qpdf（检查 PDF 结构）…" >&2
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq qpdf >/dev/null
  else
    echo "警告：没有 apt-get，请自行安装 qpdf（测试用它检查 PDF 结构）" >&2
  fi
fi

# poppler's pdfsig checks PDF signatures in the tests (an independent reader of the 归档 copies)
if ! command -v pdfsig >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "安装 poppler-utils（pdfsig）…" >&2
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq poppler-utils >/dev/null
  else
    echo "警告：没有 apt-get，请自行安装 poppler-utils（测试用 pdfsig 检查签名）" >&2
  fi
fi

# Headless Chromium and its driver for the web application's browser tests (scripts/test.sh
# asks for them with ARCHIVE_SETUP_BROWSER=1; the demo does not need them).
if [ "${ARCHIVE_SETUP_BROWSER:-0}" = 1 ] && { ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; }; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "安装浏览器测试所需的 chromium chromium-driver…" >&2
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "警告：没有 apt-get，浏览器测试将跳过（需要 chromium 和 chromedriver）" >&2
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.setup-stamp"
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "安装 Python 依赖…" >&2
  if ! .venv/bin/python -m pip install -q -e ".[test,jieba,bench]" > .venv/pip.log 2>&1; then
    cat .venv/pip.log >&2
    echo "安装 Python 依赖失败（详见上面的输出）" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi

# LibreOffice Calc (headless), for the slow test that opens the archive's XLSX files the way a
# township's office would and checks that no name is evaluated as a formula
if ! command -v soffice >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "安装 LibreOffice Calc（libreoffice-calc-nogui，测试用）…" >&2
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui >/dev/null \
    || echo "警告：未能安装 LibreOffice，相关的慢测试将跳过" >&2
fi
