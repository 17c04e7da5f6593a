//! The agent reads the hub's clock from every reply (`Date`) and tells the operator when the
//! PC's clock is off by more than five minutes.

use karya_agent::client::{HubClient, parse_http_date};
use karya_tests::TestHub;
use karya_tests::procs::AgentDir;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A "hub" whose clock is `behind` behind this machine's: answers every request 503 with
/// its own `Date`.
async fn hub_with_a_slow_clock(behind: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0u8; 64 * 1024];
            let _ = s.read(&mut buf).await;
            let then = time::OffsetDateTime::now_utc() - behind;
            let date = then
                .format(time::macros::format_description!(
                    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
                ))
                .unwrap();
            let reply = format!(
                "HTTP/1.1 503 Service Unavailable\r\nDate: {date}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = s.write_all(reply.as_bytes()).await;
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agent_measures_its_clock_against_the_hubs() {
    assert_eq!(
        parse_http_date("Tue, 01 Dec 2026 23:20:16 GMT"),
        Some(1_796_167_216)
    );
    // The real hub: same machine, same clock.
    let hub = TestHub::start().await;
    let token = hub.add_upt("LAPAS-SORONG", "lapas", "Papua Barat Daya");
    let mut agent = karya_tests::memagent::Agent::new("LAPAS-SORONG", &hub.url(), &token);
    agent.sync().await;
    let skew = agent.client.clock_skew().expect("the hub sends its Date");
    assert!(skew.abs() <= 2, "{skew}");

    // A hub an hour behind: the PC is an hour ahead of it.
    let url = hub_with_a_slow_clock(Duration::from_secs(3600)).await;
    let client = HubClient::new(&url, &token, Duration::from_secs(5));
    assert!(client.exchange(vec![1, 2, 3]).await.is_err());
    let skew = client.clock_skew().unwrap();
    assert!((3598..=3602).contains(&skew), "{skew}");
}

#[test]
fn status_warns_of_a_clock_an_hour_off() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(hub_with_a_slow_clock(Duration::from_secs(3600)));
    let dir = tempfile::tempdir().unwrap();
    let a = AgentDir::init(dir.path(), "LAPAS-SORONG", &url, "karya_abc_def");
    // A forced sync reaches the hub (which answers 503) and reads its clock.
    let _ = a.run(&["sync"]);
    let s = a.status();
    let skew = s["clock_skew_secs"].as_i64().unwrap();
    assert!((3598..=3602).contains(&skew), "{s}");
    let text = a.ok(&["status"]);
    assert!(
        text.contains("60 menit lebih cepat dari jam pusat"),
        "{text}"
    );
}
