/**
 * The shell scripts the SSH target runs on hosts. Each is a constant run as `/bin/sh -c <script> slipway <args…>`:
 * values (paths, names, checksums) arrive only as quoted positional parameters, never inside the script text.
 * Exit codes above 1 are how a script tells the controller what went wrong (see `ScriptExit`).
 */

/** The marker file name (same as the local target's). */
export const MARKER = '.slipway-release';

/** Exit codes the scripts use for the outcomes the controller turns into specific errors. */
export const ScriptExit = {
  checksum: 21,
  unpack: 23,
  exists: 30,
  currentIsIncomplete: 31,
  notComplete: 40,
  notSymlink: 42,
  escapes: 50,
  notFolder: 51,
  reserved: 52,
  isFolder: 53,
} as const;

/** $1 root, $2 releases, $3 shared. */
export const PREPARE = `umask 027; mkdir -p -- "$1" "$2" "$3"`;

/** $1 release folder: prints `none`, `incomplete`, or `marker` and the marker file. */
export const READ_MARKER = `d=$1; M=${MARKER}
if [ -d "$d" ] && [ ! -L "$d" ]; then
  if [ -f "$d/$M" ] && [ ! -L "$d/$M" ]; then printf 'marker\\n'; head -c 65536 "$d/$M"; else printf 'incomplete\\n'; fi
elif [ -e "$d" ] || [ -L "$d" ]; then printf 'incomplete\\n'
else printf 'none\\n'; fi`;

/**
 * $1 uploaded artifact, $2 work folder, $3 release folder, $4 expected SHA-256, $5 marker JSON, $6 `current`,
 * $7 release name. Verifies the checksum on the host, unpacks into the work folder, drops setuid/setgid/sticky
 * bits, flushes, writes the marker last, and renames into place. The caller removes $1 and $2 afterwards.
 */
export const INSTALL = `inc=$1; tmp=$2; dir=$3; sum=$4; marker=$5; cur=$6; rel=$7; M=${MARKER}
for tool in sha256sum tar find; do
  command -v "$tool" >/dev/null 2>&1 || { printf '%s is not installed on the host\n' "$tool"; exit 20; }
done
actual=$(sha256sum -b < "$inc") || exit 20
actual=\${actual%% *}
if [ "$actual" != "$sum" ]; then printf '%s\\n' "$actual"; exit ${ScriptExit.checksum}; fi
mkdir -m 750 -- "$tmp" || exit 22
tar --no-same-owner --no-overwrite-dir -xf "$inc" -C "$tmp" 2>&1 || {
  printf '\nfree-kib:%s\n' "$(df -Pk -- "$tmp" 2>/dev/null | awk 'NR==2 {print $4}')"; exit ${ScriptExit.unpack}; }
rm -rf -- "$tmp/$M" || exit 24
find "$tmp" ! -type l -perm /7000 -exec chmod u-s,g-s,o-t -- {} + || exit 24
find "$tmp" \\( -type f -o -type d \\) -exec sync -- {} + 2>/dev/null || sync
(umask 137; printf '%s\\n' "$marker" > "$tmp/$M") || exit 25
sync -- "$tmp/$M" "$tmp" 2>/dev/null || sync
if [ -e "$dir" ] || [ -L "$dir" ]; then
  if [ -d "$dir" ] && [ ! -L "$dir" ] && [ -f "$dir/$M" ] && [ ! -L "$dir/$M" ]; then
    head -c 65536 "$dir/$M"; exit ${ScriptExit.exists}
  fi
  l=$(readlink -- "$cur" 2>/dev/null) || l=
  if [ "$l" = "releases/$rel" ] || [ "$l" = "$dir" ]; then exit ${ScriptExit.currentIsIncomplete}; fi
  mv -T -- "$dir" "$tmp.stale" && rm -rf -- "$tmp.stale" || exit 26
fi
mv -T -- "$tmp" "$dir" || exit 27
sync -- "\${dir%/*}" 2>/dev/null || :`;

/** $@ paths to remove (work folders, uploads); never fails. */
export const REMOVE = `rm -rf -- "$@" 2>/dev/null; exit 0`;

/** $1 folder: prints the free KiB of its file system (for disk-full messages). */
export const FREE_SPACE = `df -Pk -- "$1" 2>/dev/null | awk 'NR==2 {print $4}'`;

/**
 * $1 release folder, $2 file name, $3 temp name, $4… the folders between them. Walks down with real paths
 * (creating missing folders), refusing a symlink that leads out of the release, then writes stdin to the temp
 * file (mode 640) and renames it over the destination. Prints the offending segment on refusal.
 */
export const WRITE_FILE = `dir=$1; base=$2; tmpname=$3; shift 3; M=${MARKER}
[ -d "$dir" ] && [ ! -L "$dir" ] && [ -f "$dir/$M" ] || exit ${ScriptExit.notComplete}
real=$(readlink -f -- "$dir") || exit 2
p=$real
for seg do
  n=$p/$seg
  if [ -L "$n" ]; then
    r=$(readlink -f -- "$n") || { printf '%s' "$seg"; exit ${ScriptExit.escapes}; }
    case "$r/" in "$real"/*) ;; *) printf '%s' "$seg"; exit ${ScriptExit.escapes};; esac
    [ -d "$r" ] || { printf '%s' "$seg"; exit ${ScriptExit.notFolder}; }
    p=$r
  elif [ -d "$n" ]; then p=$n
  elif [ -e "$n" ]; then printf '%s' "$seg"; exit ${ScriptExit.notFolder}
  else mkdir -m 750 -- "$n" || exit 2; p=$n
  fi
done
f=$p/$base
[ "$f" = "$real/$M" ] && exit ${ScriptExit.reserved}
if [ -d "$f" ] && [ ! -L "$f" ]; then exit ${ScriptExit.isFolder}; fi
t=$p/$tmpname
(umask 137; cat > "$t") && chmod 640 -- "$t" && { sync -- "$t" 2>/dev/null || :; } && mv -T -- "$t" "$f" || { rm -f -- "$t"; exit 2; }
sync -- "$p" 2>/dev/null || :`;

/**
 * $1 release folder, $2 root, $3 release name, $4 temp link path. Prints what `current` linked to before,
 * then points `current` at releases/<name> with symlink + rename (mv -T is rename(2): atomic, never ln -sfn).
 */
export const SWITCH = `dir=$1; root=$2; rel=$3; tmp=$4; cur=$2/current; M=${MARKER}
[ -d "$dir" ] && [ ! -L "$dir" ] && [ -f "$dir/$M" ] && [ ! -L "$dir/$M" ] || exit ${ScriptExit.notComplete}
if [ -L "$cur" ]; then p=$(readlink -- "$cur") || exit 2; elif [ -e "$cur" ]; then exit ${ScriptExit.notSymlink}; else p=; fi
ln -s -- "releases/$rel" "$tmp" || exit 2
mv -T -- "$tmp" "$cur" 2>&1 || { rm -f -- "$tmp"; exit ${ScriptExit.notSymlink}; }
sync -- "$root" 2>/dev/null || :
printf '%s' "$p"`;

/** $1 `current`: prints `link:<target>` when it is a symlink, nothing when missing; exit 42 when it is something else. */
export const READ_CURRENT = `c=$1
if [ -L "$c" ]; then printf 'link:'; readlink -- "$c"; exit 0; fi
if [ -e "$c" ]; then exit ${ScriptExit.notSymlink}; fi`;

/** $1 releases folder: for each real folder with a marker, prints name NUL marker NUL. */
export const LIST = `cd "$1" 2>/dev/null || exit 0; M=${MARKER}
for n in *; do
  if [ -d "$n" ] && [ ! -L "$n" ] && [ -f "$n/$M" ] && [ ! -L "$n/$M" ]; then
    printf '%s\\0' "$n"; head -c 65536 "$n/$M"; printf '\\0'
  fi
done`;

/** $1 releases, $2 root, $3… pairs of (release folder, aside name): each renamed aside, then deleted. */
export const PRUNE = `rels=$1; root=$2; shift 2
while [ $# -ge 2 ]; do mv -T -- "$1" "$2" && rm -rf -- "$2" || exit 2; shift 2; done
find "$rels" -mindepth 1 -maxdepth 1 \\( -name '.tmp-*' -o -name '.incoming-*' \\) -mmin +1 -exec rm -rf -- {} + 2>/dev/null
find "$root" -mindepth 1 -maxdepth 1 -name 'current.tmp-*' -mmin +1 -exec rm -f -- {} + 2>/dev/null
exit 0`;
