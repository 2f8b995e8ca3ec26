# Sourced by the benchmarks: installs what they need, publishes the NativeAOT daemon (unless PORTMAPPER_BIN names
# one) and builds the load tool. Sets root (and cds there), bin (the daemon) and load (the pm-load command).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
bash scripts/deps.sh
bin=${PORTMAPPER_BIN:-}
if [ -z "$bin" ]; then
  dotnet publish src/Gateway -c Release -o artifacts/publish -v quiet -nologo >/dev/null
  bin=$root/artifacts/publish/portmapper
fi
dotnet build conformance/LoadTool -c Release -v quiet -nologo >/dev/null
load=(dotnet "$root/conformance/LoadTool/bin/Release/net10.0/pm-load.dll")
