# Sourced by scripts/image-test.sh and scripts/matrix-test.sh: installs
# podman, runc and debootstrap when missing (as root), and points podman at
# a configuration of the project's own (CONTAINERS_CONF), never /etc:
# runtime runc, not crun (which fails on hybrid cgroup hierarchies), and no
# default ulimits, which a container in a container may not raise.
# Needs: say (prints one line to stderr), and $cache (a folder of .tools).

pkgs=()
for c in podman runc debootstrap; do command -v "$c" >/dev/null || pkgs+=("$c"); done
if ((${#pkgs[@]})); then
	if [ "$(id -u)" = 0 ]; then
		say "installing ${pkgs[*]}"
		apt-get update -qq || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
	else
		say "error: missing Debian packages: ${pkgs[*]}"
		say "hint: run: sudo apt-get install -y ${pkgs[*]}"
		exit 1
	fi
fi
if [ "$(id -u)" != 0 ]; then
	say "error: podman runs as root here (host network, fixed uids in the containers)"
	exit 1
fi

export CONTAINERS_CONF=$cache/containers.conf
cat >"$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
podman=(podman)
