//! Snapshot of the printer's layout: one operator per line at statement level.

#[test]
fn printed_layout() {
    let src = "let window=1d;let Hashes=toscalar(DeviceFileEvents|where Timestamp>ago(window)|summarize make_set(SHA1));
DeviceProcessEvents|where Timestamp>ago(window) and SHA1 in (Hashes)
|join kind=inner hint.strategy=broadcast (DeviceNetworkEvents|where RemotePort==443) on DeviceId
|summarize Count=count(),arg_max(Timestamp,*) by DeviceId,bin(Timestamp,1h)
|order by Count desc";
    let script = harrier_kql::parse(src).unwrap_or_else(|e| panic!("{e}"));
    insta::assert_snapshot!(script.to_string());
}
