//! Households and their residents: family shapes, ages, statuses, tags, phones, ID numbers.

use chrono::{Datelike, NaiveDate};
use wangge_core::id_number::check_char;
use wangge_core::{ResidenceStatus, Sex};

use crate::builder::Builder;
use crate::names::{phone, push_given_name, push_padded};
use crate::{AS_OF, ResidentSeed};

use ResidenceStatus::{Away, Deceased, MovedOut, Present, Returned};
use Sex::{Female, Male};

/// The largest household we generate.
const MAX_MEMBERS: usize = 6;

/// What kind of place a community is; it shifts family shapes and who is away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    /// A town-centre community.
    Urban,
    /// An old community with many elderly (Hongqiao).
    Aged,
    /// An ordinary village.
    Rural,
    /// A mountain village: many away working, many left-behind children (Pushan).
    Mountain,
}

#[derive(Debug, Clone, Copy)]
enum Shape {
    Single,
    Couple,
    Nuclear,
    ThreeGenerations,
    SingleParent,
    /// Grandparents raising grandchildren whose parents work elsewhere (隔代家庭).
    SkipGeneration,
}

const SHAPES: [Shape; 6] =
    [Shape::Single, Shape::Couple, Shape::Nuclear, Shape::ThreeGenerations, Shape::SingleParent, Shape::SkipGeneration];

struct Params {
    /// Weights of [`SHAPES`].
    shapes: [u32; 6],
    /// Share of one-person households that are elderly.
    single_elderly: f64,
    /// Chance that a young family's parents both work elsewhere.
    family_away: f64,
    /// Chance that another adult of working age is away.
    adult_away: f64,
    low_income: f64,
    village_sage: f64,
}

impl Profile {
    fn params(self) -> Params {
        match self {
            Profile::Urban => Params {
                shapes: [16, 23, 40, 13, 5, 3],
                single_elderly: 0.45,
                family_away: 0.06,
                adult_away: 0.14,
                low_income: 0.02,
                village_sage: 0.01,
            },
            Profile::Aged => Params {
                shapes: [24, 30, 25, 13, 5, 3],
                single_elderly: 0.75,
                family_away: 0.06,
                adult_away: 0.16,
                low_income: 0.03,
                village_sage: 0.01,
            },
            Profile::Rural => Params {
                shapes: [15, 22, 33, 18, 4, 8],
                single_elderly: 0.6,
                family_away: 0.12,
                adult_away: 0.24,
                low_income: 0.03,
                village_sage: 0.04,
            },
            Profile::Mountain => Params {
                shapes: [17, 25, 24, 18, 4, 12],
                single_elderly: 0.7,
                family_away: 0.2,
                adult_away: 0.32,
                low_income: 0.06,
                village_sage: 0.05,
            },
        }
    }
}

/// One person of the household being generated.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    sex: Sex,
    /// Whole years on [`AS_OF`].
    age: u32,
    relation: &'static str,
    surname: &'static str,
    status: ResidenceStatus,
}

/// Hands out ID numbers that are unique in the plan: for each birth date and sex there are
/// 499 sequence numbers; a date that runs out moves the birth a day earlier.
#[derive(Debug, Clone)]
pub(crate) struct IdAllocator {
    region: &'static str,
    first_day: i32,
    used: Vec<u16>,
}

const SEQUENCES: u32 = 499;
/// Whole years on [`AS_OF`] of the oldest resident we generate, plus room for shifts.
const OLDEST: i32 = 110;

impl IdAllocator {
    pub(crate) fn new(region: &'static str) -> IdAllocator {
        let first = NaiveDate::from_ymd_opt(AS_OF.year() - OLDEST, 1, 1).expect("a valid date");
        let first_day = first.num_days_from_ce();
        let days = (AS_OF.num_days_from_ce() - first_day + 1) as usize;
        IdAllocator { region, first_day, used: vec![0; days * 2] }
    }

    /// A valid, unused ID number for someone born on `day` (days from the common era), and
    /// the birth date it encodes.
    pub(crate) fn allocate(&mut self, mut day: i32, sex: Sex) -> (NaiveDate, String) {
        let slot = |day: i32| (day - self.first_day) as usize * 2 + usize::from(sex == Male);
        while self.used[slot(day)] as u32 >= SEQUENCES {
            day -= 1;
        }
        let i = slot(day);
        let k = u32::from(self.used[i]);
        self.used[i] += 1;
        // Start each date at a different place and stride through all 499, so sequences look
        // scattered rather than 001, 002, ...
        let start = (day as u32).wrapping_mul(2_654_435_761) % SEQUENCES;
        let s = 1 + (start + k * 37) % SEQUENCES;
        let sequence = s * 2 + u32::from(sex == Male);
        let birth = NaiveDate::from_num_days_from_ce_opt(day).expect("a valid day");
        (birth, compose(self.region, birth, sequence))
    }
}

/// Builds the 18 characters directly; `IdNumber::compose` formats through chrono, which
/// dominates the time of a million-resident county.
fn compose(region: &str, birth: NaiveDate, sequence: u32) -> String {
    let mut s = String::with_capacity(18);
    s.push_str(region);
    push_padded(&mut s, birth.year() as u64, 4);
    push_padded(&mut s, u64::from(birth.month()), 2);
    push_padded(&mut s, u64::from(birth.day()), 2);
    push_padded(&mut s, u64::from(sequence), 3);
    let check = check_char(&s);
    s.push(check);
    s
}

fn opposite(sex: Sex) -> Sex {
    match sex {
        Male => Female,
        Female => Male,
    }
}

impl Builder {
    fn sex(&mut self, male: f64) -> Sex {
        if self.rng.chance(male) { Male } else { Female }
    }

    fn push_member(&mut self, sex: Sex, age: u32, relation: &'static str, surname: &'static str) {
        if self.members.len() < MAX_MEMBERS {
            self.members.push(Member { sex, age, relation, surname, status: Present });
        }
    }

    /// Adds the head's spouse, of the other sex and a similar age (husbands a little older).
    fn push_spouse(&mut self, head_sex: Sex, head_age: u32) -> u32 {
        let age = match head_sex {
            Male => (head_age + 6).saturating_sub(self.rng.range(0, 9)),
            Female => head_age + self.rng.range(0, 7) - 1,
        }
        .max(20);
        let surname = self.surnames.draw(&mut self.rng);
        self.push_member(opposite(head_sex), age, "spouse", surname);
        age
    }

    /// Adds up to `count` children of a mother aged `mother_age`, oldest first.
    fn push_children(&mut self, mother_age: u32, count: u32, surname: &'static str, relation: &'static str) {
        let mut age = mother_age.saturating_sub(self.rng.range(21, 34));
        if age == 0 {
            age = self.rng.range(0, 2);
        }
        for i in 0..count {
            if i > 0 {
                let gap = self.rng.range(1, 6);
                if age < gap {
                    break;
                }
                age -= gap;
            }
            let sex = self.sex(0.52);
            self.push_member(sex, age, relation, surname);
        }
    }

    /// Fills `self.members` with one household of the given shape.
    fn shape_members(&mut self, shape: Shape, p: &Params) {
        let surname = self.surnames.draw(&mut self.rng);
        match shape {
            Shape::Single => {
                if self.rng.chance(p.single_elderly) {
                    // Widows outlive widowers.
                    let sex = self.sex(0.4);
                    let age = self.rng.range(60, 85);
                    self.push_member(sex, age, "head", surname);
                } else {
                    let sex = self.sex(0.6);
                    let age = self.rng.range(25, 59);
                    self.push_member(sex, age, "head", surname);
                }
            }
            Shape::Couple => {
                let sex = self.sex(0.88);
                let age = if self.rng.chance(0.55) { self.rng.range(60, 85) } else { self.rng.range(25, 59) };
                self.push_member(sex, age, "head", surname);
                self.push_spouse(sex, age);
            }
            Shape::Nuclear | Shape::ThreeGenerations => {
                let three = matches!(shape, Shape::ThreeGenerations);
                let sex = self.sex(0.85);
                let age = if three { self.rng.range(30, 55) } else { self.rng.range(28, 60) };
                self.push_member(sex, age, "head", surname);
                let spouse_age = self.push_spouse(sex, age);
                let (mother_age, father_surname) = match sex {
                    Male => (spouse_age, surname),
                    Female => (age, self.members[1].surname),
                };
                let count = if three {
                    self.rng.range(1, 2)
                } else {
                    [1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3][self.rng.index(20)]
                };
                self.push_children(mother_age, count, father_surname, "child");
                if three {
                    // The head's own parents; the father carries the head's surname.
                    let father = self.rng.chance(0.65);
                    let mother = !father || self.rng.chance(0.85);
                    let father_age = (age + self.rng.range(24, 34)).min(98);
                    if father {
                        self.push_member(Male, father_age, "parent", surname);
                    }
                    if mother {
                        let mother_age = father_age.saturating_sub(self.rng.range(0, 5)).max(age + 20);
                        let mother_surname = self.surnames.draw(&mut self.rng);
                        self.push_member(Female, mother_age, "parent", mother_surname);
                    }
                } else if self.rng.chance(0.03) {
                    // An unmarried brother or sister still registered with the family.
                    let sex = self.sex(0.6);
                    let sibling_age = (age + self.rng.range(0, 12)).saturating_sub(6).max(18);
                    self.push_member(sex, sibling_age, "sibling", surname);
                } else if self.rng.chance(0.01) {
                    // A nephew or niece.
                    let sex = self.sex(0.5);
                    let other_age = self.rng.range(8, 30);
                    self.push_member(sex, other_age, "other", surname);
                }
            }
            Shape::SingleParent => {
                let sex = self.sex(0.35);
                let age = self.rng.range(28, 55);
                self.push_member(sex, age, "head", surname);
                let count = self.rng.range(1, 2);
                self.push_children(age, count, surname, "child");
            }
            Shape::SkipGeneration => {
                let sex = self.sex(0.75);
                let age = self.rng.range(55, 80);
                self.push_member(sex, age, "head", surname);
                if self.rng.chance(0.85) {
                    self.push_spouse(sex, age);
                }
                // A grown son (and his wife) or a daughter (and her husband), away working,
                // whose children stay with the grandparents.
                // Children carry the grandfather's surname, whether he is the head or not.
                let family = if sex == Male {
                    surname
                } else if self.members.len() == 2 {
                    self.members[1].surname
                } else {
                    self.surnames.draw(&mut self.rng)
                };
                let child_sex = self.sex(0.8);
                let child_age = age.saturating_sub(self.rng.range(24, 32)).max(22);
                self.push_member(child_sex, child_age, "child", family);
                let in_law = self.rng.chance(0.85);
                let (mother_age, kids_surname) = if in_law {
                    let in_law_age = match child_sex {
                        Male => child_age.saturating_sub(self.rng.range(0, 5)).max(20),
                        Female => child_age + self.rng.range(0, 5),
                    };
                    let in_law_surname = self.surnames.draw(&mut self.rng);
                    self.push_member(opposite(child_sex), in_law_age, "other", in_law_surname);
                    match child_sex {
                        Male => (in_law_age, family),
                        Female => (child_age, in_law_surname),
                    }
                } else {
                    (if child_sex == Female { child_age } else { child_age.saturating_sub(2) }, family)
                };
                let count = self.rng.range(1, 2);
                let first = mother_age.saturating_sub(self.rng.range(20, 30)).min(15);
                for i in 0..count {
                    let kid_age = first.saturating_sub(i * self.rng.range(1, 5));
                    let kid_sex = self.sex(0.52);
                    self.push_member(kid_sex, kid_age, "grandchild", kids_surname);
                }
            }
        }
    }

    /// Where each member is: first whole families that went out to work, then each person.
    fn assign_statuses(&mut self, shape: Shape, p: &Params) {
        let head_age = self.members[0].age;
        let family_away = matches!(shape, Shape::Nuclear | Shape::ThreeGenerations | Shape::SingleParent)
            && head_age < 55
            && self.rng.chance(p.family_away);
        let parents_away = matches!(shape, Shape::SkipGeneration) && self.rng.chance(0.85);
        for i in 0..self.members.len() {
            let (age, relation) = (self.members[i].age, self.members[i].relation);
            let status = if family_away && matches!(relation, "head" | "spouse") {
                Away
            } else if family_away && relation == "child" && age < 16 {
                // Some children go with their parents; the rest are left behind.
                if self.rng.chance(0.4) { Away } else { Present }
            } else if parents_away && age >= 18 && matches!(relation, "child" | "other") {
                Away
            } else if relation == "head" {
                self.head_status(age, p)
            } else {
                self.member_status(age, relation, p)
            };
            self.members[i].status = status;
        }
    }

    /// Heads are never dead or moved out: the household would have a new head.
    fn head_status(&mut self, age: u32, p: &Params) -> ResidenceStatus {
        if age >= 60 {
            return Present;
        }
        let u = self.unit();
        if u < p.adult_away * 0.5 {
            Away
        } else if u < p.adult_away * 0.5 + 0.03 {
            Returned
        } else {
            Present
        }
    }

    fn member_status(&mut self, age: u32, relation: &str, p: &Params) -> ResidenceStatus {
        let u = self.unit();
        let can_move = matches!(relation, "child" | "sibling" | "other");
        // (away, returned, moved out, deceased) as cumulative thresholds.
        let (away, returned, moved, dead) = match age {
            0..=15 => (0.02, 0.0, 0.0, 0.0),
            16..=22 => (0.30, 0.01, if can_move { 0.01 } else { 0.0 }, 0.0),
            23..=50 => (p.adult_away, 0.04, if can_move { 0.07 } else { 0.005 }, 0.001),
            51..=64 => (0.08, 0.03, 0.005, 0.008),
            65..=74 => (0.02, 0.0, 0.0, 0.04),
            75..=84 => (0.0, 0.0, 0.0, 0.10),
            _ => (0.0, 0.0, 0.0, 0.22),
        };
        if u < away {
            Away
        } else if u < away + returned {
            Returned
        } else if u < away + returned + moved {
            MovedOut
        } else if u < away + returned + moved + dead {
            Deceased
        } else {
            Present
        }
    }

    fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Generates the residents of household `household`, the head first.
    pub(crate) fn add_residents(&mut self, household: usize, profile: Profile) {
        let p = profile.params();
        self.members.clear();
        let shape = SHAPES[self.rng.weighted(&p.shapes)];
        self.shape_members(shape, &p);
        self.assign_statuses(shape, &p);
        let low_income = self.rng.chance(p.low_income);
        let members = std::mem::take(&mut self.members);
        for (i, m) in members.iter().enumerate() {
            let tags = self.tags(&members, i, low_income, &p);
            let year_start = NaiveDate::from_ymd_opt(AS_OF.year() - m.age as i32, AS_OF.month(), AS_OF.day())
                .unwrap_or(AS_OF)
                .num_days_from_ce();
            let (birth_date, id_number) = self.ids.allocate(year_start - self.rng.below(365) as i32, m.sex);
            let mut name = String::with_capacity(m.surname.len() + 6);
            name.push_str(m.surname);
            push_given_name(&mut name, &mut self.rng, m.sex, birth_date.year());
            let phone = self.phone_for(m);
            self.plan.residents.push(ResidentSeed {
                household,
                name,
                sex: m.sex,
                birth_date,
                phone,
                id_number,
                status: m.status,
                relation: m.relation,
                tags,
            });
        }
        self.members = members;
    }

    fn phone_for(&mut self, m: &Member) -> Option<String> {
        let p = match (m.status, m.age) {
            (Deceased, _) => 0.0,
            (_, 0..=11) => 0.0,
            (_, 12..=15) => 0.3,
            (_, 16..=75) => 0.94,
            _ => 0.6,
        };
        self.rng.chance(p).then(|| phone(&mut self.rng))
    }

    fn tags(&mut self, members: &[Member], i: usize, low_income: bool, p: &Params) -> Vec<&'static str> {
        let m = &members[i];
        let mut tags = Tags::default();
        if matches!(m.status, Deceased | MovedOut) {
            return Vec::new();
        }
        let active = matches!(m.status, Present | Returned);
        let male = m.sex == Male;
        let age = m.age;
        if age >= 18 && self.rng.chance(if male { 0.095 } else { 0.045 }) {
            tags.push("party_member");
        }
        if male && age > 40 && self.rng.chance(0.02) {
            tags.push("veteran");
        }
        if (18..=35).contains(&age) && active && self.rng.chance(0.025) {
            tags.push("militia");
        }
        if (16..=75).contains(&age) && active && self.rng.chance(0.08) {
            tags.push("volunteer");
        }
        if low_income {
            tags.push("low_income");
        }
        if self.rng.chance(if age < 60 { 0.012 } else { 0.045 }) {
            tags.push("disabled");
        }
        if age < 16 && m.status == Present {
            // Left behind: every parent registered here is away.
            let parent_relations: &[&str] = match m.relation {
                "child" => &["head", "spouse"],
                "grandchild" => &["child", "other"],
                _ => &[],
            };
            let mut parents =
                members.iter().filter(|o| o.age >= 18 && parent_relations.contains(&o.relation)).peekable();
            if parents.peek().is_some() && parents.all(|o| o.status == Away) {
                tags.push("left_behind_child");
            }
        }
        if age >= 60 && m.status == Present {
            let mut others = members
                .iter()
                .enumerate()
                .filter(|(j, o)| *j != i && matches!(o.status, Present | Returned))
                .map(|(_, o)| o)
                .peekable();
            if others.peek().is_none() {
                // Alone: with no family at all it is 孤寡, otherwise 空巢.
                if members.len() == 1 && self.rng.chance(0.45) {
                    tags.push("lonely_elderly");
                } else {
                    tags.push("empty_nest_elderly");
                }
            } else if others.all(|o| o.age >= 60) {
                tags.push("empty_nest_elderly");
            }
        }
        if male && age >= 60 && active && self.rng.chance(p.village_sage) {
            tags.push("village_sage");
        }
        if m.status == Returned && self.rng.chance(0.7) {
            tags.push("returnee");
        }
        if (35..=65).contains(&age) && self.rng.chance(0.003) {
            tags.push("deputy");
        }
        tags.to_vec()
    }
}

/// Collects tags on the stack, so that the resident's vector is allocated once at its exact
/// size (most residents have none, so most allocate nothing).
#[derive(Default)]
struct Tags {
    buf: [&'static str; 12],
    len: usize,
}

impl Tags {
    fn push(&mut self, tag: &'static str) {
        self.buf[self.len] = tag;
        self.len += 1;
    }

    fn to_vec(&self) -> Vec<&'static str> {
        self.buf[..self.len].to_vec()
    }
}

#[cfg(test)]
pub(crate) fn compose_for_test(region: &str, birth: NaiveDate, sequence: u32) -> String {
    compose(region, birth, sequence)
}
