package iptables

// sandboxNetFlags are what the engine needs where the container has neither
// iptables nor the right to make network interfaces (gVisor with
// --network=host): no firewall, no bridge, no forwarding of its own
// (gvisorEngineSettings in gvisor_net.go).
var sandboxNetFlags = []string{"--iptables=false", "--ip6tables=false", "--bridge=none", "--ip-forward=false"}
