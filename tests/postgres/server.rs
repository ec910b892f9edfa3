//! The PostgreSQL server the scenarios share: made in a temporary directory (own data
//! directory, a free loopback port, `fsync=off`, `ssl=on` with a test CA's certificate), started
//! again after a scenario stops it, and stopped when dropped.

use std::path::PathBuf;
use std::process::Command;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// A PostgreSQL server in a temporary directory.
pub(crate) struct Server {
    root: PathBuf,
    bin: PathBuf,
    pub(crate) port: u16,
    run_as_postgres: bool,
}

impl Server {
    pub(crate) fn start() -> Self {
        let bin = server_programs().unwrap_or_else(|| {
            panic!(
                "PostgreSQL's server programs (initdb, pg_ctl) were not found. Install them \
                 (Debian: apt-get install postgresql) or set INBOUND_CERTS_PG_BIN to their directory."
            )
        });
        let root = std::env::temp_dir().join(format!("inbound-certs-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let run_as_postgres = running_as_root();
        if run_as_postgres {
            let status = Command::new("chown")
                .args(["postgres:postgres", root.to_str().unwrap()])
                .status()
                .unwrap();
            assert!(status.success(), "chown of {} failed", root.display());
        }
        let port = free_port();
        let server = Server {
            root,
            bin,
            port,
            run_as_postgres,
        };
        let data = server.data();
        server.make_tls_files();
        server.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        );
        server.resume();
        server
    }

    pub(crate) fn data(&self) -> String {
        self.root.join("data").display().to_string()
    }

    pub(crate) fn file(&self, name: &str) -> String {
        self.root.join(name).display().to_string()
    }

    /// A test CA (`ca.pem`) and the server's certificate from it for `localhost` and
    /// `127.0.0.1` (`server.crt`, `server.key`), and another CA (`other-ca.pem`) that signed
    /// nothing the server has.
    fn make_tls_files(&self) {
        let authority = |name: &str| {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
        };
        let ca = authority("inbound-certs test CA");
        let other = authority("inbound-certs other test CA");
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "test database");
        let certificate = params.signed_by(&key, &ca).unwrap();
        std::fs::write(self.file("ca.pem"), ca.pem()).unwrap();
        std::fs::write(self.file("other-ca.pem"), other.pem()).unwrap();
        std::fs::write(self.file("server.crt"), certificate.pem()).unwrap();
        std::fs::write(self.file("server.key"), key.serialize_pem()).unwrap();
        let mode = |name: &str, mode: &str| {
            let status = Command::new("chmod")
                .args([mode, &self.file(name)])
                .status()
                .unwrap();
            assert!(status.success());
        };
        mode("server.key", "0600");
        mode("server.crt", "0644");
        if self.run_as_postgres {
            for name in ["server.key", "server.crt"] {
                let status = Command::new("chown")
                    .args(["postgres:postgres", &self.file(name)])
                    .status()
                    .unwrap();
                assert!(status.success(), "chown of {name} failed");
            }
        }
    }

    /// A server program, run as the `postgres` user when this test runs as root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.run_as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        }
    }

    fn run(&self, program: &str, arguments: &[&str]) {
        let output = self.command(program).args(arguments).output().unwrap();
        assert!(
            output.status.success(),
            "{program} {arguments:?} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Starts (or starts again) the server on its port.
    pub(crate) fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 \
             -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            self.port,
            self.root.display(),
            self.file("server.crt"),
            self.file("server.key"),
        );
        let log = self.root.join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    /// Stops the server, disconnecting every client.
    pub(crate) fn halt(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    pub(crate) fn url(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }

    pub(crate) fn sql(&self) -> postgres::Client {
        postgres::Client::connect(&self.url(), postgres::NoTls).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn server_programs() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("INBOUND_CERTS_PG_BIN") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("pg_ctl").is_file() && dir.join("initdb").is_file(),
            "INBOUND_CERTS_PG_BIN={} holds no pg_ctl and initdb",
            dir.display()
        );
        return Some(dir);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("pg_ctl").is_file() && dir.join("initdb").is_file() {
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin")))
        .filter(|bin| bin.join("pg_ctl").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
        .unwrap_or(false)
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
