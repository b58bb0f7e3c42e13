package main

import (
	"reflect"
	"testing"
	"time"
)

func TestEngineOwnRunsFromStartingUpToTheLastAPIListen(t *testing.T) {
	logs := `2026-12-04T15:17:35.239Z [DEBUG] dinv.engine: done
time="2026-12-04T15:17:36.000634395Z" level=info msg="Starting up"
time="2026-12-04T15:17:36.559488440Z" level=info msg="[graphdriver] trying configured driver: overlay2"
time="2026-12-04T15:17:38.274028462Z" level=info msg="API listen on [::]:2375"
time="2026-12-04T15:17:38.274366292Z" level=info msg="API listen on /var/run/docker.sock"
2026-12-04T15:17:38.276Z [INFO]  dinv.ready: engine ready: after=3.421s`
	if got, want := engineOwn(logs), 2273731897*time.Nanosecond; got != want {
		t.Errorf("engineOwn = %v, want %v", got, want)
	}
	for _, partial := range []string{
		`time="2026-12-04T15:17:36.000634395Z" level=info msg="Starting up"`,
		`time="2026-12-04T15:17:38.274028462Z" level=info msg="API listen on [::]:2375"`,
		"",
	} {
		if got := engineOwn(partial); got != 0 {
			t.Errorf("engineOwn(%q) = %v, want 0", partial, got)
		}
	}
}

func TestTheReferencesRunTheEngineWithoutDinvsContainerd(t *testing.T) {
	got := withoutContainerd([]string{"dockerd", "--containerd=/var/run/docker/containerd/containerd.sock", "--host=fd://", "--tls=false"})
	if want := []string{"dockerd", "--host=fd://", "--tls=false"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
