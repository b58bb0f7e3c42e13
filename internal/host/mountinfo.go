package host

import "strings"

// Mount is one line of /proc/self/mountinfo.
type Mount struct {
	Root     string   // the mounted subtree of the filesystem
	Point    string   // where it is mounted
	Opts     []string // per-mount options: rw/ro, nosuid, ...
	Optional []string // optional fields: shared:N, master:N
	FSType   string
	Source   string
	Super    []string // superblock options: for cgroup v1 the subsystems
}

// ParseMountInfo parses /proc/self/mountinfo; malformed lines are skipped.
func ParseMountInfo(data []byte) []Mount {
	var ms []Mount
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		sep := -1
		for i, w := range f {
			if w == "-" && i >= 6 {
				sep = i
				break
			}
		}
		if sep < 0 || len(f) < sep+4 {
			continue
		}
		ms = append(ms, Mount{
			Root:     unescape(f[3]),
			Point:    unescape(f[4]),
			Opts:     strings.Split(f[5], ","),
			Optional: f[6:sep],
			FSType:   f[sep+1],
			Source:   unescape(f[sep+2]),
			Super:    strings.Split(f[sep+3], ","),
		})
	}
	return ms
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1:i+4]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '7' {
			return false
		}
	}
	return len(s) == 3
}

// ReadMounts reads and parses /proc/self/mountinfo.
func ReadMounts(sys System) ([]Mount, error) {
	data, err := sys.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	return ParseMountInfo(data), nil
}
