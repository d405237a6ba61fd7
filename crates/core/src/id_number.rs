//! The 18-character resident identity card number (GB 11643): six digits of region, eight of
//! birth date, three of sequence (odd for men), and a check character (ISO 7064 MOD 11-2).

use chrono::NaiveDate;

use crate::registry::Sex;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("an ID number has 18 characters")]
    Length,
    #[error("an ID number is 17 digits followed by a digit or X")]
    Characters,
    #[error("the birth date in the ID number is not a real date")]
    BirthDate,
    #[error("the check digit of the ID number is wrong")]
    CheckDigit,
}

/// The check character for the first 17 digits.
pub fn check_char(first17: &str) -> char {
    let sum: u32 = first17.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    CHECK[(sum % 11) as usize]
}

/// The birth date in digits 7 to 14 (`YYYYMMDD`), read without a format parser: imports
/// read a million of them.
fn birth_date(s: &str) -> Option<NaiveDate> {
    let d = s.as_bytes().get(6..14)?;
    let num = |r: std::ops::Range<usize>| {
        d[r].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(4..6)?, num(6..8)?)
}

impl IdNumber {
    pub fn parse(s: &str) -> Result<IdNumber, IdNumberError> {
        let s = s.trim().to_ascii_uppercase();
        if s.chars().count() != 18 {
            return Err(IdNumberError::Length);
        }
        let (body, last) = s.split_at(17);
        if !body.bytes().all(|b| b.is_ascii_digit()) || !last.bytes().all(|b| b.is_ascii_digit() || b == b'X') {
            return Err(IdNumberError::Characters);
        }
        birth_date(body).ok_or(IdNumberError::BirthDate)?;
        if !last.starts_with(check_char(body)) {
            return Err(IdNumberError::CheckDigit);
        }
        Ok(IdNumber(s))
    }

    /// Builds a valid number from its parts; the sequence is 0..=999 and its parity follows sex.
    pub fn compose(region: &str, birth: NaiveDate, sequence: u32, sex: Sex) -> IdNumber {
        let seq = match sex {
            Sex::Male => (sequence % 500) * 2 + 1,
            Sex::Female => (sequence % 500) * 2,
        };
        let body = format!("{region:0>6.6}{}{seq:03}", birth.format("%Y%m%d"));
        let check = check_char(&body);
        IdNumber(format!("{body}{check}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> NaiveDate {
        birth_date(&self.0).expect("checked at parse")
    }

    pub fn into_string(self) -> String {
        self.0
    }

    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 { Sex::Male } else { Sex::Female }
    }

    /// The last four characters, the only part shown unmasked.
    pub fn masked(&self) -> String {
        format!("**************{}", &self.0[14..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_valid_numbers_pass() {
        // The GB 11643 standard's own example, and one ending in X.
        assert!(IdNumber::parse("11010519491231002X").is_ok());
        assert!(IdNumber::parse("440524188001010014").is_ok());
        assert_eq!(IdNumber::parse("11010519491231002x").unwrap().as_str(), "11010519491231002X");
    }

    #[test]
    fn bad_numbers_are_named() {
        assert_eq!(IdNumber::parse("440524188001010015"), Err(IdNumberError::CheckDigit));
        assert_eq!(IdNumber::parse("44052418800101001"), Err(IdNumberError::Length));
        assert_eq!(IdNumber::parse("44052418800101001A"), Err(IdNumberError::Characters));
        assert_eq!(IdNumber::parse("440524188002300014"), Err(IdNumberError::BirthDate));
    }

    #[test]
    fn composed_numbers_are_valid_and_carry_their_parts() {
        let birth = NaiveDate::from_ymd_opt(1988, 2, 29).unwrap();
        for seq in [0, 1, 499, 777] {
            for sex in [Sex::Male, Sex::Female] {
                let id = IdNumber::compose("350322", birth, seq, sex);
                let parsed = IdNumber::parse(id.as_str()).unwrap();
                assert_eq!(parsed.birth_date(), birth);
                assert_eq!(parsed.sex(), sex);
                assert!(parsed.masked().ends_with(&id.as_str()[14..]));
            }
        }
    }
}
