#!/usr/bin/env bash
# Install Argus on this host, idempotently: a second run with the same options changes nothing
# and says so. Everything it creates is listed in PREFIX/install-manifest, which --uninstall
# reads to remove exactly that and nothing else. The manifest also holds the options of the run
# that wrote it (mode, --host-tmp, --skip-pip, --python): a later run given none of them reuses
# them and says so, so an upgrade (`git pull && sudo scripts/install.sh`) keeps the install as it
# was. It never forgets: what an earlier run installed stays listed until a run removes it.
#
#   PREFIX/venv                      the package, in its own virtual environment (pip install REPO)
#   /etc/argus/argus.env             from argus.env.example (ARGUS_STATE_DIR=/var/lib/argus filled
#                                    in), mode 0600, only when absent: never overwritten, kept by
#                                    --uninstall unless --purge
#   /etc/argus/argus.env.example     the current example, to diff against after an upgrade
#   /etc/systemd/system/argus*.{service,timer}   the units, enabled with systemctl when systemd
#                                    runs, or with --cron: /etc/cron.d/argus and /var/lib/argus
#   /etc/systemd/system/argus.service.d/prometheus.conf   --prometheus DIR: DIR writable for the
#                                    cycle's textfile (ARGUS_PROMETHEUS_TEXTFILE=DIR/argus.prom)
#
# Staging (tests, packaging): --destdir DIR (or DESTDIR=DIR) writes everything under DIR and
# does not call systemctl (unless ARGUS_INSTALL_SYSTEMD=yes); --skip-pip leaves out the venv
# (one an earlier run installed stays, and stays in the manifest).
set -euo pipefail

readonly DEFAULT_PREFIX=/opt/argus
readonly TIMERS=(argus.timer argus-patterns.timer argus-relay-summary.timer)
readonly UNIT_FILES=(argus.service argus.timer argus-patterns.service argus-patterns.timer
                     argus-relay-summary.service argus-relay-summary.timer)
readonly UNIT_DIR=/etc/systemd/system
readonly ETC_DIR=/etc/argus
readonly ENV_FILE=/etc/argus/argus.env
readonly CRON_FILE=/etc/cron.d/argus
readonly CRON_STATE_DIR=/var/lib/argus  # = StateDirectory=argus of the units
readonly DROPIN=/etc/systemd/system/argus.service.d/host-tmp.conf
readonly PROMETHEUS_DROPIN=/etc/systemd/system/argus.service.d/prometheus.conf
readonly PROMETHEUS_NAME=argus.prom  # node_exporter's textfile collector reads DIR/*.prom

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=$DEFAULT_PREFIX
DESTDIR=${DESTDIR:-}
# The options that decide what is installed: empty until given, taken from the previous manifest
# (unless --reset-options) or defaulted in resolve_options.
PYTHON=${PYTHON:-}
MODE=""      # systemd | cron
SKIP_PIP=""  # 1 | 0
HOST_TMP=""  # 1 | 0
RESET_OPTIONS=0
OBSERVE=0  # --observe: ARGUS_AUTONOMY=observe in the env file (a one-off edit, not remembered)
PROMETHEUS=""  # --prometheus DIR: the textfile directory (remembered: the drop-in must outlive upgrades)
PROMETHEUS_GIVEN=0  # given on this run: then the env file's line is set too
UNINSTALL=0
PURGE=0
CHANGES=0
ENTRIES=()      # "KIND PATH" lines of the new manifest: file | dir | tree | config
OLD_ENTRIES=()  # the manifest of the previous run, if any
OLD_OPTIONS=()  # its "NAME VALUE" option lines: mode, host-tmp, skip-pip, python
WORK=""

usage() {
    cat <<'EOF'
Usage: scripts/install.sh [OPTIONS]

Install Argus (venv, env file, systemd timers or crontab). Safe to run again: an unchanged
install reports "nothing to do". Run as root unless --destdir is given.

Options:
  --prefix DIR     where the venv lives (default /opt/argus; the units are rewritten to match)
  --destdir DIR    stage the whole install under DIR (also: DESTDIR=DIR); never calls systemctl
  --cron           install /etc/cron.d/argus instead of the systemd units and timers
  --systemd        the systemd units and timers (the default; switches a --cron install back)
  --host-tmp       systemd: let clean_disk and the tmux checks see the host's /tmp and /var/tmp
                   (adds argus.service.d/host-tmp.conf with PrivateTmp=no; see argus.service)
  --skip-pip       do not create the venv or pip install (alias: --no-venv)
  --python PATH    interpreter for the venv (default python3, must be >= 3.11)
  --observe        watch first: set ARGUS_AUTONOMY=observe in /etc/argus/argus.env (Argus records
                   what it would do and changes nothing; set ask or act there when you trust it)
  --prometheus DIR each cycle writes DIR/argus.prom for node_exporter's textfile collector: sets
                   ARGUS_PROMETHEUS_TEXTFILE in /etc/argus/argus.env and lets argus.service write
                   DIR (argus.service.d/prometheus.conf). Debian's prometheus-node-exporter reads
                   /var/lib/prometheus/node-exporter
  --reset-options  do not reuse the options the last install recorded in its manifest: what
                   is not given takes its default (systemd, no --host-tmp, with the venv)
  --uninstall      remove what the manifest of this prefix lists, nothing else
  --purge          with --uninstall: remove /etc/argus/argus.env too (if this script wrote it)
  -h, --help       this text

The manifest remembers --cron/--systemd, --host-tmp, --skip-pip, --python and --prometheus: a
later run (an upgrade) that does not give them reuses them and says so; one that does, changes
them (--reset-options forgets --prometheus; the env file's line is yours to change).

Example: sudo scripts/install.sh --host-tmp
EOF
}

say() { printf 'argus install: %s\n' "$*"; }
die() { printf 'argus install: error: %s\n' "$*" >&2; exit 1; }
target() { printf '%s%s' "$DESTDIR" "$1"; }  # a system path, under the staging root if any
record() {  # once per path, in first-seen order, so every run writes the same manifest
    local entry
    for entry in "${ENTRIES[@]+"${ENTRIES[@]}"}"; do [[ "$entry" == "$1 $2" ]] && return 0; done
    ENTRIES+=("$1 $2")
}
cleanup() { if [[ -n "$WORK" ]]; then rm -rf -- "$WORK"; fi; }

parse_args() {
    while (($#)); do
        case "$1" in
            --prefix) (($# >= 2)) || die "--prefix needs a directory"; PREFIX=$2; shift ;;
            --prefix=*) PREFIX=${1#*=} ;;
            --destdir) (($# >= 2)) || die "--destdir needs a directory"; DESTDIR=$2; shift ;;
            --destdir=*) DESTDIR=${1#*=} ;;
            --python) (($# >= 2)) || die "--python needs a path"; PYTHON=$2; shift ;;
            --cron) MODE=cron ;;
            --systemd) MODE=systemd ;;
            --host-tmp) HOST_TMP=1 ;;
            --skip-pip | --no-venv) SKIP_PIP=1 ;;
            --reset-options) RESET_OPTIONS=1 ;;
            --observe) OBSERVE=1 ;;
            --prometheus) (($# >= 2)) || die "--prometheus needs a directory"; PROMETHEUS=$2; PROMETHEUS_GIVEN=1; shift ;;
            --prometheus=*) PROMETHEUS=${1#*=}; PROMETHEUS_GIVEN=1 ;;
            --uninstall) UNINSTALL=1 ;;
            --purge) PURGE=1 ;;
            -h | --help) usage; exit 0 ;;
            *) usage >&2; die "unknown option: $1" ;;
        esac
        shift
    done
}

check_args() {
    # The prefix is written into unit files and a crontab: keep it to characters that need no
    # quoting in either, so the rewrite cannot change what the line means.
    [[ "$PREFIX" =~ ^/[A-Za-z0-9._/-]+$ && "$PREFIX" != *..* ]] \
        || die "--prefix must be an absolute path of [A-Za-z0-9._/-] without '..', got: $PREFIX"
    PREFIX=${PREFIX%/}
    # It goes into the manifest, one line per option.
    [[ "$PYTHON" != *[[:cntrl:]]* ]] || die "--python must not contain control characters"
    if [[ -n "$DESTDIR" ]]; then
        mkdir -p -- "$DESTDIR"
        DESTDIR=$(cd "$DESTDIR" && pwd)
        [[ "$DESTDIR" != / ]] || DESTDIR=""
    fi
    if [[ -z "$DESTDIR" && "$(id -u)" -ne 0 ]]; then
        die "writing /etc and $PREFIX needs root (or stage with --destdir DIR)"
    fi
    ((PURGE == 0 || UNINSTALL == 1)) || die "--purge only goes with --uninstall"
    if ((PROMETHEUS_GIVEN)); then
        # Written unquoted into the env file and a unit file, like the prefix.
        valid_dir "$PROMETHEUS" || die "--prometheus must be an absolute directory of [A-Za-z0-9._/-] without '..', got: $PROMETHEUS"
        PROMETHEUS=${PROMETHEUS%/}
    fi
}

valid_dir() { [[ "$1" =~ ^/[A-Za-z0-9._/-]*[A-Za-z0-9._-]/?$ && "$1" != *..* ]]; }

# Whether to call systemctl: auto = systemd runs here and nothing is staged. ARGUS_INSTALL_SYSTEMD
# =yes|no overrides it (no: image builds; yes: tests, with a stand-in systemctl on PATH).
systemd_live() {
    case "${ARGUS_INSTALL_SYSTEMD:-auto}" in
        yes) return 0 ;;
        no) return 1 ;;
        auto) [[ -z "$DESTDIR" && -d /run/systemd/system ]] ;;
        *) die "ARGUS_INSTALL_SYSTEMD must be auto, yes or no" ;;
    esac
}

load_old_manifest() {
    local manifest line
    manifest=$(target "$PREFIX/install-manifest")
    [[ -f "$manifest" ]] || return 0
    while IFS= read -r line; do
        [[ -z "$line" || "$line" == \#* ]] && continue
        check_entry "$line"
        if [[ "$line" == "option "* ]]; then OLD_OPTIONS+=("${line#option }"); else OLD_ENTRIES+=("$line"); fi
    done <"$manifest"
    if ((${#OLD_OPTIONS[@]} == 0 && ${#OLD_ENTRIES[@]} > 0)); then
        # Written before the manifest held options: read them off what that run installed.
        if was_recorded "file $CRON_FILE"; then OLD_OPTIONS+=("mode cron"); else OLD_OPTIONS+=("mode systemd"); fi
        if was_recorded "file $DROPIN"; then OLD_OPTIONS+=("host-tmp yes"); fi
        if ! was_recorded "tree $PREFIX/venv"; then OLD_OPTIONS+=("skip-pip yes"); fi
    fi
}

# A manifest line is trusted only as far as it names a path this script could have written.
check_entry() {
    local kind=${1%% *} path=${1#* }
    if [[ "$kind" == option ]]; then
        case "$path" in
            "mode systemd" | "mode cron" | "host-tmp yes" | "host-tmp no" | "skip-pip yes" | "skip-pip no") ;;
            "python "?*) [[ "$path" != *[[:cntrl:]]* ]] || die "manifest: bad option: $1" ;;
            "prometheus "?*) valid_dir "${path#prometheus }" || die "manifest: bad option: $1" ;;
            *) die "manifest: bad option: $1" ;;
        esac
        return 0
    fi
    case "$kind" in file | dir | tree | config) ;; *) die "manifest: bad entry: $1" ;; esac
    [[ "$path" == /* && "$path" != *..* && "$path" != *$'\t'* ]] || die "manifest: bad path: $1"
    if [[ "$kind" == tree && "$path" != "$PREFIX/venv" ]]; then
        die "manifest: refusing to delete tree $path"
    fi
}

was_recorded() {
    local entry
    for entry in "${OLD_ENTRIES[@]+"${OLD_ENTRIES[@]}"}"; do
        [[ "$entry" == "$1" ]] && return 0
    done
    return 1
}

# The value the previous manifest recorded for option $1; fails when it recorded none.
old_option() {
    local entry
    for entry in "${OLD_OPTIONS[@]+"${OLD_OPTIONS[@]}"}"; do
        if [[ "${entry%% *}" == "$1" ]]; then printf '%s' "${entry#* }"; return 0; fi
    done
    return 1
}

# An option not given takes the value the last install recorded (unless --reset-options), else
# its default. One line names the reused values that differ from the defaults.
resolve_options() {
    local reused=() value
    if ((RESET_OPTIONS == 0)); then
        if [[ -z "$MODE" ]] && value=$(old_option mode); then
            MODE=$value
            if [[ "$MODE" == cron ]]; then reused+=(--cron); fi
        fi
        if [[ -z "$HOST_TMP" ]] && value=$(old_option host-tmp); then
            if [[ "$value" == yes ]]; then HOST_TMP=1; reused+=(--host-tmp); else HOST_TMP=0; fi
        fi
        if [[ -z "$SKIP_PIP" ]] && value=$(old_option skip-pip); then
            if [[ "$value" == yes ]]; then SKIP_PIP=1; reused+=(--skip-pip); else SKIP_PIP=0; fi
        fi
        if [[ -z "$PYTHON" ]] && value=$(old_option python); then
            PYTHON=$value
            if [[ "$PYTHON" != python3 ]]; then reused+=(--python "$PYTHON"); fi
        fi
        if [[ -z "$PROMETHEUS" ]] && value=$(old_option prometheus); then
            PROMETHEUS=$value
            reused+=(--prometheus "$PROMETHEUS")
        fi
    fi
    MODE=${MODE:-systemd} HOST_TMP=${HOST_TMP:-0} SKIP_PIP=${SKIP_PIP:-0} PYTHON=${PYTHON:-python3}
    if ((${#reused[@]})); then
        say "reusing the options of the last install: ${reused[*]} (--cron/--systemd switch the mode; --reset-options takes the defaults)"
    fi
}

# Create a directory and each missing parent, recording the ones this script created (now or on
# an earlier run) so --uninstall can remove them again when they are empty.
ensure_dir() {
    local path=$1 mode=$2
    [[ "$path" == / ]] && return 0
    ensure_dir "$(dirname -- "$path")" 0755
    if [[ ! -d "$(target "$path")" ]]; then
        install -d -m "$mode" -- "$(target "$path")"
        say "created $path/"
        CHANGES=$((CHANGES + 1))
        record dir "$path"
    elif was_recorded "dir $path"; then
        record dir "$path"
    fi
}

# Copy only when content or mode differ, so a second run touches nothing.
install_file() {
    local src=$1 path=$2 mode=$3 dest
    dest=$(target "$path")
    ensure_dir "$(dirname -- "$path")" 0755
    record file "$path"
    if [[ -f "$dest" && ! -L "$dest" ]] && cmp -s -- "$src" "$dest" \
        && [[ "$(stat -c %a -- "$dest")" == "${mode#0}" ]]; then
        return 0
    fi
    install -m "$mode" -- "$src" "$dest"
    say "installed $path"
    CHANGES=$((CHANGES + 1))
}

# The shipped files name /opt/argus/venv/bin/argus; point them at this prefix.
render() {
    sed "s|$DEFAULT_PREFIX/venv/bin/argus|$PREFIX/venv/bin/argus|g" -- "$1" >"$2"
}

# What pip would build from: when it is unchanged since the last pip install, skip pip.
source_stamp() {
    local paths=() path
    for path in pyproject.toml README.md argus_cli; do
        if [[ -e "$REPO/$path" ]]; then paths+=("$path"); fi
    done
    (cd "$REPO" && find "${paths[@]}" -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 \
        | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

install_venv() {
    local venv stamp
    venv=$(target "$PREFIX/venv")
    record tree "$PREFIX/venv"
    stamp=$(source_stamp)
    if [[ -x "$venv/bin/argus" && -f "$venv/.argus-source" && "$(cat "$venv/.argus-source")" == "$stamp" ]]; then
        return 0
    fi
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$PYTHON is older than Python 3.11 (use --python PATH)"
    [[ -x "$venv/bin/python" ]] || "$PYTHON" -m venv -- "$venv"
    say "pip install $REPO into $PREFIX/venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -- "$REPO"
    printf '%s\n' "$stamp" >"$venv/.argus-source"
    CHANGES=$((CHANGES + 1))
}

install_env_file() {
    local dest
    dest=$(target "$ENV_FILE")
    ensure_dir "$ETC_DIR" 0755
    install_file "$REPO/argus.env.example" "$ETC_DIR/argus.env.example" 0644
    if [[ -e "$dest" || -L "$dest" ]]; then
        # Yours from the moment it exists: edited or not, it is never overwritten; --observe
        # changes its one ARGUS_AUTONOMY line, because you asked for it.
        if was_recorded "config $ENV_FILE"; then record config "$ENV_FILE"; fi
        if ((OBSERVE)); then set_observe "$dest"; fi
        if ((PROMETHEUS_GIVEN)); then set_prometheus "$dest"; fi
        return 0
    fi
    # The state dir the units and the crontab use, so `argus stats`, `argus last` or
    # `argus doctor` run by hand (which find /etc/argus/argus.env) look at the same state.
    sed "s|^ARGUS_STATE_DIR=\$|ARGUS_STATE_DIR=$CRON_STATE_DIR|" -- "$REPO/argus.env.example" >"$WORK/argus.env"
    install -m 0600 -- "$WORK/argus.env" "$dest"
    say "wrote $ENV_FILE (mode 0600) from argus.env.example: edit it"
    CHANGES=$((CHANGES + 1))
    record config "$ENV_FILE"
    if ((OBSERVE)); then set_observe "$dest"; fi
    if ((PROMETHEUS_GIVEN)); then set_prometheus "$dest"; fi
}

# --observe: the env file's ARGUS_AUTONOMY becomes observe (the line replaced, or added).
set_observe() {
    local dest=$1
    [[ -f "$dest" && ! -L "$dest" ]] || die "$ENV_FILE is not a regular file: set ARGUS_AUTONOMY=observe by hand"
    if grep -qx 'ARGUS_AUTONOMY=observe' -- "$dest" && [[ $(grep -c '^ARGUS_AUTONOMY=' -- "$dest") -eq 1 ]]; then
        return 0
    fi
    { grep -v '^ARGUS_AUTONOMY=' -- "$dest" || true; printf 'ARGUS_AUTONOMY=observe\n'; } >"$WORK/argus.env.observe"
    cat -- "$WORK/argus.env.observe" >"$dest"  # in place: keeps the file's owner and mode 0600
    say "set ARGUS_AUTONOMY=observe in $ENV_FILE: Argus records what it would do and changes nothing"
    say "when you trust it: ARGUS_AUTONOMY=ask (approve each action) or act, in $ENV_FILE"
    CHANGES=$((CHANGES + 1))
}

# --prometheus DIR: the env file's ARGUS_PROMETHEUS_TEXTFILE becomes DIR/argus.prom (the line
# replaced where it is, or added). Only when given: on an upgrade the line is yours.
set_prometheus() {
    local dest=$1 line="ARGUS_PROMETHEUS_TEXTFILE=$PROMETHEUS/$PROMETHEUS_NAME"
    [[ -f "$dest" && ! -L "$dest" ]] || die "$ENV_FILE is not a regular file: set $line by hand"
    if grep -qxF -- "$line" "$dest" && [[ $(grep -c '^ARGUS_PROMETHEUS_TEXTFILE=' -- "$dest") -eq 1 ]]; then
        return 0
    fi
    awk -v line="$line" 'index($0, "ARGUS_PROMETHEUS_TEXTFILE=") == 1 { if (!done) print line; done = 1; next }
                         { print }
                         END { if (!done) print line }' "$dest" >"$WORK/argus.env.prometheus"
    cat -- "$WORK/argus.env.prometheus" >"$dest"  # in place: keeps the file's owner and mode 0600
    say "set $line in $ENV_FILE: each cycle writes it for node_exporter's textfile collector"
    if [[ ! -d "$(target "$PROMETHEUS")" ]]; then
        say "$PROMETHEUS does not exist yet (node_exporter's package creates its directory): until it does," \
            "each cycle records that it cannot write the textfile (argus doctor says so too)"
    fi
    CHANGES=$((CHANGES + 1))
}

# The unit's ProtectSystem=strict keeps everything but its listed paths read-only. "-": a DIR
# that is missing (node_exporter not installed yet) must not keep the watchdog from starting.
install_prometheus_dropin() {
    cat >"$WORK/prometheus.conf" <<EOF
# Written by scripts/install.sh --prometheus $PROMETHEUS: each cycle writes
# $PROMETHEUS/$PROMETHEUS_NAME for node_exporter's textfile collector (ARGUS_PROMETHEUS_TEXTFILE).
[Service]
ReadWritePaths=-$PROMETHEUS
EOF
    install_file "$WORK/prometheus.conf" "$PROMETHEUS_DROPIN" 0644
}

install_units() {
    local unit
    for unit in "${UNIT_FILES[@]}"; do
        render "$REPO/cron/$unit" "$WORK/$unit"
        install_file "$WORK/$unit" "$UNIT_DIR/$unit" 0644
    done
    if ((HOST_TMP)); then
        cat >"$WORK/host-tmp.conf" <<'EOF'
# Written by scripts/install.sh --host-tmp: clean_disk cleans the host's /tmp and /var/tmp, and
# the tmux checks and kill_tmux reach the sockets under /tmp/tmux-UID (see argus.service).
[Service]
PrivateTmp=no
ReadWritePaths=/tmp /var/tmp
EOF
        install_file "$WORK/host-tmp.conf" "$DROPIN" 0644
    fi
    if [[ -n "$PROMETHEUS" ]]; then install_prometheus_dropin; fi
}

install_cron() {
    render "$REPO/cron/crontab" "$WORK/crontab"
    install_file "$WORK/crontab" "$CRON_FILE" 0644
    ensure_dir "$CRON_STATE_DIR" 0700  # systemd's StateDirectory= does this for the units
}

# Files the previous run installed that this run does not (e.g. after switching to --cron).
remove_stale() {
    local entry kind path units_removed=0
    for entry in "${OLD_ENTRIES[@]+"${OLD_ENTRIES[@]}"}"; do
        kind=${entry%% *} path=${entry#* }
        [[ "$kind" == file ]] || continue
        printf '%s\n' "${ENTRIES[@]}" | grep -qxF -- "$entry" && continue
        if [[ "$path" == */*.timer ]] && systemd_live; then
            systemctl disable --now -- "$(basename -- "$path")" || true
        fi
        rm -f -- "$(target "$path")"
        say "removed $path (no longer part of this install)"
        CHANGES=$((CHANGES + 1))
        if [[ "$path" == "$UNIT_DIR"/* ]]; then units_removed=1; fi
    done
    if ((units_removed)) && [[ "$MODE" == cron ]] && systemd_live; then systemctl daemon-reload; fi
}

enable_timers() {
    local timer units_changed=$1
    if ! systemd_live; then
        [[ -n "$DESTDIR" ]] || say "systemd is not running here: units installed, not enabled (use --cron)"
        return 0
    fi
    if ((units_changed)); then
        # New unit text: reload, and restart the timers so a changed schedule applies now.
        systemctl daemon-reload
        systemctl enable -- "${TIMERS[@]}"
        systemctl restart -- "${TIMERS[@]}"
        say "reloaded systemd; enabled and (re)started ${TIMERS[*]}"
        return 0
    fi
    for timer in "${TIMERS[@]}"; do
        if systemctl is-enabled --quiet -- "$timer" && systemctl is-active --quiet -- "$timer"; then
            continue
        fi
        systemctl enable --now -- "$timer"
        say "enabled and started $timer"
        CHANGES=$((CHANGES + 1))
    done
}

# What an earlier run installed and this one left alone stays listed (the venv after --skip-pip,
# /var/lib/argus after a switch to systemd), as long as it is there: --uninstall removes it too.
keep_earlier_entries() {
    local entry path
    for entry in "${OLD_ENTRIES[@]+"${OLD_ENTRIES[@]}"}"; do
        path=$(target "${entry#* }")
        if [[ -e "$path" || -L "$path" ]]; then record "${entry%% *}" "${entry#* }"; fi
    done
}

yes_no() { if (($1)); then printf yes; else printf no; fi; }

write_manifest() {
    {
        printf '# Written by scripts/install.sh; read by --uninstall. One "KIND PATH" per line;\n'
        printf '# "option NAME VALUE" lines are the options the next run reuses unless told otherwise.\n'
        printf 'option %s\n' "mode $MODE" "host-tmp $(yes_no "$HOST_TMP")" \
            "skip-pip $(yes_no "$SKIP_PIP")" "python $PYTHON"
        if [[ -n "$PROMETHEUS" ]]; then printf 'option prometheus %s\n' "$PROMETHEUS"; fi
        printf '%s\n' "${ENTRIES[@]}"
    } >"$WORK/manifest"
    install_file "$WORK/manifest" "$PREFIX/install-manifest" 0644
}

do_install() {
    local before
    load_old_manifest
    resolve_options
    WORK=$(mktemp -d)
    ensure_dir "$PREFIX" 0755
    if ((SKIP_PIP == 0)); then
        install_venv
    elif [[ -f "$(target "$PREFIX/venv/.argus-source")" ]]; then
        record tree "$PREFIX/venv"  # this script's venv (its stamp says so), from an earlier run
    fi
    install_env_file
    before=$CHANGES
    if [[ "$MODE" == cron ]]; then install_cron; else install_units; fi
    remove_stale
    if [[ "$MODE" == systemd ]]; then enable_timers $((CHANGES > before)); fi
    keep_earlier_entries
    write_manifest
    if ((CHANGES == 0)); then
        say "nothing to do: ${DESTDIR:-}$PREFIX is installed and up to date (no file changed)"
    else
        say "done: $CHANGES change(s); manifest ${DESTDIR:-}$PREFIX/install-manifest"
    fi
}

do_uninstall() {
    local entry kind path i removed=0
    load_old_manifest
    if ((${#OLD_ENTRIES[@]} == 0)); then
        say "nothing to uninstall: no manifest at ${DESTDIR:-}$PREFIX/install-manifest"
        return 0
    fi
    for entry in "${OLD_ENTRIES[@]}"; do
        kind=${entry%% *} path=${entry#* }
        if [[ "$kind" == file && "$path" == */*.timer ]] && systemd_live; then
            systemctl disable --now -- "$(basename -- "$path")" || true
        fi
    done
    for entry in "${OLD_ENTRIES[@]}"; do
        kind=${entry%% *} path=${entry#* }
        case "$kind" in
            file) rm -f -- "$(target "$path")" ;;
            tree) rm -rf -- "$(target "$path")" ;;
            config)
                if ((PURGE == 0)); then say "kept $path (yours; --purge removes it)"; continue; fi
                rm -f -- "$(target "$path")" ;;
            dir) continue ;;
        esac
        say "removed $path"
        removed=$((removed + 1))
    done
    rm -f -- "$(target "$PREFIX/install-manifest")"
    # Directories last, deepest first (they were recorded parent first), and only when empty:
    # anything else in them is not ours.
    for ((i = ${#OLD_ENTRIES[@]} - 1; i >= 0; i--)); do
        kind=${OLD_ENTRIES[i]%% *} path=${OLD_ENTRIES[i]#* }
        [[ "$kind" == dir ]] || continue
        if rmdir -- "$(target "$path")" 2>/dev/null; then
            say "removed $path/"
        elif [[ -d "$(target "$path")" ]]; then
            say "kept $path/ (not empty)"
        fi
    done
    if systemd_live; then systemctl daemon-reload; fi
    say "uninstalled: $removed item(s) removed; state in $CRON_STATE_DIR is left alone"
}

main() {
    parse_args "$@"
    check_args
    trap cleanup EXIT
    if ((UNINSTALL)); then do_uninstall; else do_install; fi
}

main "$@"
