use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }

    pub fn parse(s: &str) -> Option<Sex> {
        match s {
            "male" => Some(Sex::Male),
            "female" => Some(Sex::Female),
            _ => None,
        }
    }
}

/// Where a registered resident is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResidenceStatus {
    Present,
    Away,
    Returned,
    MovedOut,
    Deceased,
}

impl ResidenceStatus {
    pub const ALL: [ResidenceStatus; 5] = [
        ResidenceStatus::Present,
        ResidenceStatus::Away,
        ResidenceStatus::Returned,
        ResidenceStatus::MovedOut,
        ResidenceStatus::Deceased,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResidenceStatus::Present => "present",
            ResidenceStatus::Away => "away",
            ResidenceStatus::Returned => "returned",
            ResidenceStatus::MovedOut => "moved_out",
            ResidenceStatus::Deceased => "deceased",
        }
    }

    pub fn parse(s: &str) -> Option<ResidenceStatus> {
        ResidenceStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The resident tags every deployment starts with; more are added as data.
/// `(code, sensitive)`: sensitive tags are personal information of a separate class.
pub const DEFAULT_TAGS: [(&str, bool); 12] = [
    ("party_member", false),
    ("veteran", false),
    ("militia", false),
    ("volunteer", false),
    ("low_income", true),
    ("disabled", true),
    ("left_behind_child", true),
    ("lonely_elderly", true),
    ("empty_nest_elderly", true),
    ("village_sage", false),
    ("returnee", false),
    ("deputy", false),
];

/// A tag code: lower-case ASCII letters, digits and underscores, starting with a letter.
pub fn valid_tag_code(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && s.len() <= 40
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A mainland mobile number: 11 digits starting with 1; or a landline of digits and one dash.
pub fn valid_phone(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let dashes = s.chars().filter(|c| *c == '-').count();
    let only = s.chars().all(|c| c.is_ascii_digit() || c == '-');
    only && dashes <= 1 && (7..=12).contains(&digits) && !s.starts_with('-') && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for s in ResidenceStatus::ALL {
            assert_eq!(ResidenceStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ResidenceStatus::parse("gone"), None);
        assert_eq!(Sex::parse("female"), Some(Sex::Female));
        assert_eq!(Sex::parse("f"), None);
    }

    #[test]
    fn tag_codes_and_phones() {
        assert!(valid_tag_code("party_member"));
        assert!(!valid_tag_code("Party"));
        assert!(!valid_tag_code("1x"));
        assert!(!valid_tag_code(""));
        assert!(valid_phone("13800138000"));
        assert!(valid_phone("0594-8251825"));
        assert!(!valid_phone("12ab"));
        assert!(!valid_phone("123"));
        assert!(!valid_phone("-0594825182"));
    }
}
