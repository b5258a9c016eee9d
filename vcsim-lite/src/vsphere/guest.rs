//! Guest names: what vSphere shows as a VM's guest OS, and the names VIC gives its VMs so that
//! telemetry can tell VCHs and container VMs from other VMs.
//!
//! vSphere reports `config.guestFullName` as the `alternateGuestName` when the guest id is
//! `otherGuest` or `otherGuest64`; VIC relies on that, setting `otherGuest64` plus
//! `"Photon - Container v1.5.0, 12345, 9d146bc"`. (govmomi's vcsim reports the guest id
//! instead; this simulator follows vSphere.)

use std::borrow::Cow;

/// The guest OS family a VIC VM declares in its alternate guest name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GuestOs {
    /// Photon OS: what VIC ships.
    #[default]
    Photon,
    /// Red Hat (proposed in VIC's telemetry design).
    Redhat,
    /// Windows (proposed in VIC's telemetry design).
    Windows,
}

impl GuestOs {
    /// The prefix word.
    pub fn as_str(self) -> &'static str {
        match self {
            GuestOs::Photon => "Photon",
            GuestOs::Redhat => "Redhat",
            GuestOs::Windows => "Windows",
        }
    }
}

/// The VIC build a name reports: version, build number and commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VicBuild {
    /// Release tag, with its `v` (e.g. `v1.5.8`).
    pub version: String,
    /// CI build number; VIC reports `0` when it has none.
    pub build: String,
    /// Git commit; the first 7 characters are shown.
    pub commit: String,
}

impl VicBuild {
    /// From the compile-time environment (`VIC_VERSION`, `VIC_BUILD_NUMBER`, `VIC_GIT_COMMIT`),
    /// with defaults for a local build.
    pub fn from_build_env() -> Self {
        VicBuild::new(
            option_env!("VIC_VERSION").unwrap_or("v1.5.8"),
            option_env!("VIC_BUILD_NUMBER").unwrap_or("0"),
            option_env!("VIC_GIT_COMMIT").unwrap_or("0000000"),
        )
    }

    /// A build with these fields; an empty build number becomes `0`, as VIC's `GetBuild` does.
    pub fn new(version: &str, build: &str, commit: &str) -> Self {
        VicBuild {
            version: version.to_string(),
            build: if build.is_empty() {
                "0".into()
            } else {
                build.to_string()
            },
            commit: commit.chars().take(7).collect(),
        }
    }
}

/// `"<OS> - Container <version>, <build>, <commit>"`, the commit right-aligned in 7 columns.
pub fn container_guest_name(os: GuestOs, b: &VicBuild) -> String {
    format!(
        "{} - Container {}, {}, {:>7}",
        os.as_str(),
        b.version,
        b.build,
        b.commit
    )
}

/// `"<OS> - VCH <version>, <build>, <commit>"`, the commit right-aligned in 7 columns.
pub fn vch_guest_name(os: GuestOs, b: &VicBuild) -> String {
    format!(
        "{} - VCH {}, {}, {:>7}",
        os.as_str(),
        b.version,
        b.build,
        b.commit
    )
}

/// What kind of VM a guest name marks, for telemetry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VicRole {
    /// A Virtual Container Host appliance.
    Vch,
    /// A container VM.
    Container,
}

/// Reads a VIC name back: the role and OS, if the name is one of VIC's.
pub fn vic_role(guest_full_name: &str) -> Option<(VicRole, GuestOs)> {
    let (os, rest) = guest_full_name.split_once(" - ")?;
    let os = [GuestOs::Photon, GuestOs::Redhat, GuestOs::Windows]
        .into_iter()
        .find(|o| o.as_str() == os)?;
    if rest.starts_with("Container ") {
        Some((VicRole::Container, os))
    } else if rest.starts_with("VCH ") {
        Some((VicRole::Vch, os))
    } else {
        None
    }
}

/// `config.guestFullName` as vSphere reports it.
pub fn guest_full_name<'a>(guest_id: &'a str, alternate: &'a str) -> Cow<'a, str> {
    if matches!(guest_id, "otherGuest" | "otherGuest64") && !alternate.is_empty() {
        return Cow::Borrowed(alternate);
    }
    Cow::Borrowed(match guest_id {
        "otherGuest" => "Other (32-bit)",
        "otherGuest64" => "Other (64-bit)",
        "otherLinuxGuest" => "Other Linux (32-bit)",
        "otherLinux64Guest" => "Other Linux (64-bit)",
        "vmwarePhoton64Guest" => "VMware Photon OS (64-bit)",
        "ubuntu64Guest" => "Ubuntu Linux (64-bit)",
        "debian10_64Guest" => "Debian GNU/Linux 10 (64-bit)",
        "centos7_64Guest" => "CentOS 7 (64-bit)",
        "rhel7_64Guest" => "Red Hat Enterprise Linux 7 (64-bit)",
        "rhel8_64Guest" => "Red Hat Enterprise Linux 8 (64-bit)",
        "windows9_64Guest" => "Microsoft Windows 10 (64-bit)",
        "windows2019srv_64Guest" => "Microsoft Windows Server 2019 (64-bit)",
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_and_vch_names_follow_vic_format() {
        let b = VicBuild::new("v1.5.0", "12345", "9d146bc");
        assert_eq!(
            container_guest_name(GuestOs::Photon, &b),
            "Photon - Container v1.5.0, 12345, 9d146bc"
        );
        assert_eq!(
            vch_guest_name(GuestOs::Redhat, &b),
            "Redhat - VCH v1.5.0, 12345, 9d146bc"
        );
    }

    #[test]
    fn short_commit_is_right_aligned_and_long_commit_cut_to_seven() {
        let b = VicBuild::new("v1.5.0", "", "abc");
        assert_eq!(
            container_guest_name(GuestOs::Windows, &b),
            "Windows - Container v1.5.0, 0,     abc"
        );
        let long = VicBuild::new("v1.5.0", "7", "9d146bc0123456789");
        assert!(vch_guest_name(GuestOs::Photon, &long).ends_with(", 7, 9d146bc"));
    }

    #[test]
    fn other_guests_report_the_alternate_name() {
        let alt = "Photon - Container v1.5.0, 12345, 9d146bc";
        assert_eq!(guest_full_name("otherGuest64", alt), alt);
        assert_eq!(guest_full_name("otherGuest", alt), alt);
        assert_eq!(guest_full_name("otherGuest64", ""), "Other (64-bit)");
        assert_eq!(
            guest_full_name("ubuntu64Guest", alt),
            "Ubuntu Linux (64-bit)"
        );
        assert_eq!(guest_full_name("madeUpGuest", ""), "madeUpGuest");
    }

    #[test]
    fn vic_role_reads_names_back() {
        let b = VicBuild::new("v1.5.0", "1", "abcdef0");
        assert_eq!(
            vic_role(&container_guest_name(GuestOs::Photon, &b)),
            Some((VicRole::Container, GuestOs::Photon))
        );
        assert_eq!(
            vic_role(&vch_guest_name(GuestOs::Windows, &b)),
            Some((VicRole::Vch, GuestOs::Windows))
        );
        assert_eq!(vic_role("Other (64-bit)"), None);
        assert_eq!(vic_role("Photon - Something"), None);
    }
}
