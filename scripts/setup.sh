#!/usr/bin/env bash
# Idempotent setup for a fresh machine: Chinese fonts (Debian packages) and a virtualenv with
# the project installed; with ARCHIVE_SETUP_TESTS=1 (scripts/test.sh) also the outside tools the
# tests check our files with. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
apt_updated=0

# apt_install WHAT PACKAGE...: install Debian packages (once per run updates the lists); on a
# machine without apt-get, or when the install fails, say so in Chinese and go on.
apt_install() {
  local what=$1
  shift
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "警告：没有 apt-get，请自行安装 $what（$*）" >&2
    return 0
  fi
  echo "安装 $what（$*）…" >&2
  if [ "$apt_updated" = 0 ]; then
    $SUDO apt-get update -qq >/dev/null
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || echo "警告：未能安装 $what（$*）" >&2
}

need_fonts=0
for font in /usr/share/fonts/truetype/arphic/uming.ttc /usr/share/fonts/truetype/arphic/ukai.ttc \
            /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc; do
  [ -f "$font" ] || need_fonts=1
done
if [ "$need_fonts" = 1 ]; then
  apt_install 中文字体 fonts-arphic-uming fonts-arphic-ukai fonts-wqy-zenhei
  [ -f /usr/share/fonts/truetype/arphic/uming.ttc ] \
    || echo "警告：缺少中文字体，请在 config.yaml 的 fonts 中指定字体文件" >&2
fi
# the fallback for rare characters in names (CJK Extension B, e.g. 𠮷), which the fonts above lack
if [ ! -f /usr/share/fonts/truetype/hanazono/HanaMinB.ttf ]; then
  apt_install "生僻字后备字体（花園明朝）" fonts-hanazono
  [ -f /usr/share/fonts/truetype/hanazono/HanaMinB.ttf ] \
    || echo "警告：缺少生僻字后备字体，含扩展B区汉字的姓名将无法生成文书" >&2
fi

if [ "${ARCHIVE_SETUP_TESTS:-0}" = 1 ]; then
  # tools we did not write, which the tests check our outputs with
  command -v qpdf >/dev/null 2>&1 || apt_install "qpdf（检查 PDF/A 结构）" qpdf
  command -v pdfsig >/dev/null 2>&1 || apt_install "poppler-utils（pdfsig 检查签名）" poppler-utils
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    apt_install "浏览器测试所需的 Chromium" chromium chromium-driver
  fi
  command -v soffice >/dev/null 2>&1 || apt_install "LibreOffice Calc（打开 XLSX 检查）" libreoffice-calc-nogui
  # the county deployment's servers: the tests start throwaway instances of them (tests/servers.py)
  if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null \
     || ! compgen -G "/usr/share/postgresql/*/extension/pg_trgm.control" >/dev/null; then
    apt_install "PostgreSQL（县级部署的目录和检索数据库）" postgresql postgresql-contrib
  fi
  command -v redis-server >/dev/null 2>&1 || apt_install "Redis（县级部署的 OCR 任务队列）" redis-server
  [ -e /usr/lib/libreoffice/program/libswlo.so ] \
    || apt_install "LibreOffice Writer（打开 DOCX 检查）" libreoffice-writer-nogui
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
