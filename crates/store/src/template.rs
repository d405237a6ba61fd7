//! The spreadsheet templates: one sheet per kind of record, with the columns that import reads
//! and export writes. A header cell names its column by id (`id_number`), by its Chinese label
//! (`身份证号`), or both (`身份证号 id_number`, as exports write them).

use serde::{Deserialize, Serialize};

/// A kind of sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SheetKind {
    Areas,
    Houses,
    Households,
    Residents,
    Posts,
}

/// One column of a template.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub id: &'static str,
    pub zh: &'static str,
    pub required: bool,
    /// What goes in it, for the documentation and the template's second line.
    pub doc: &'static str,
}

const fn col(id: &'static str, zh: &'static str, required: bool, doc: &'static str) -> Column {
    Column { id, zh, required, doc }
}

const AREAS: &[Column] = &[
    col("code", "区划代码", true, "full standard code; its length gives the level, its prefix the parent"),
    col("name", "名称", true, "name, at most 100 characters"),
    col("kind", "类型", false, "town, township, subdistrict, village, community, general, dedicated, unit"),
    col("parent_code", "上级代码", false, "the parent's code; checked against the code's prefix"),
    col("valid_from", "启用日期", false, "YYYY-MM-DD; today by default"),
    col("boundary", "边界", false, "a GeoJSON Polygon or MultiPolygon geometry"),
];

const HOUSES: &[Column] = &[
    col("code", "门牌编码", true, "the unit's code plus the house's local number"),
    col("address", "地址", true, "address, at most 200 characters"),
    col("unit_code", "单元代码", false, "the unit's code; checked against the code's prefix"),
];

const HOUSEHOLDS: &[Column] = &[
    col("code", "户编码", true, "the house's code plus the household's local number"),
    col("address", "地址", false, "the house's address by default"),
    col("house_code", "门牌编码", false, "the house's code; checked against the code's prefix"),
];

const RESIDENTS: &[Column] = &[
    col("id_number", "身份证号", false, "18 characters with a valid check digit; the key that matches a resident"),
    col("name", "姓名", true, "name"),
    col("sex", "性别", false, "male/female or 男/女; taken from the ID number when empty"),
    col("birth_date", "出生日期", false, "YYYY-MM-DD; taken from the ID number when empty"),
    col("phone", "电话", false, "11-digit mobile or a landline such as 0594-8251825"),
    col("status", "居住状态", false, "present, away, returned, moved_out, deceased (在住, 外出, 返乡, 迁出, 死亡)"),
    col("household_code", "户编码", true, "the household the resident belongs to"),
    col("relation", "与户主关系", false, "head, spouse, child, parent, grandchild, grandparent, sibling, other"),
    col("member_since", "入户日期", false, "YYYY-MM-DD; today by default"),
    col("tags", "标签", false, "current tags separated by ;, each code or code@YYYY-MM-DD"),
];

const POSTS: &[Column] = &[
    col("area_code", "区划代码", true, "the area of the post: of the file, or an area under yours"),
    col(
        "kind",
        "岗位",
        true,
        "village_commander, station_chief, grid_chief, grid_member, unit_chief, household_head, party_secretary, \
         volunteer, hotline_agent, admin (or 驻村指挥长, 站长, 网格长, 网格员, 单元长, 户长, …)",
    ),
    col("display_name", "姓名", true, "the holder's name"),
    col("phone", "电话", false, "the holder's phone: finds their account, or makes one whose login is the phone"),
    col("login", "账号", false, "the holder's account, when it is known; found before the phone"),
    col(
        "is_primary",
        "主责",
        false,
        "1 for the primary holder (one per area and kind), 0 for a deputy; by default 1, and 0 for grid members, \
         volunteers and hotline agents",
    ),
    col("title", "职务", false, "a title shown beside the post"),
    col("started_on", "任职日期", false, "YYYY-MM-DD; today by default"),
];

impl SheetKind {
    pub const ALL: [SheetKind; 5] =
        [SheetKind::Areas, SheetKind::Houses, SheetKind::Households, SheetKind::Residents, SheetKind::Posts];

    /// The kinds an import reads, in the order they are applied.
    pub const IMPORTED: [SheetKind; 5] =
        [SheetKind::Areas, SheetKind::Houses, SheetKind::Households, SheetKind::Residents, SheetKind::Posts];

    pub fn as_str(self) -> &'static str {
        match self {
            SheetKind::Areas => "areas",
            SheetKind::Houses => "houses",
            SheetKind::Households => "households",
            SheetKind::Residents => "residents",
            SheetKind::Posts => "posts",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            SheetKind::Areas => "区划",
            SheetKind::Houses => "房屋",
            SheetKind::Households => "户",
            SheetKind::Residents => "居民",
            SheetKind::Posts => "岗位",
        }
    }

    /// A kind by its id or Chinese name (a sheet's or a file's name).
    pub fn parse(s: &str) -> Option<SheetKind> {
        let s = s.trim();
        SheetKind::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s) || k.zh() == s)
    }

    pub fn columns(self) -> &'static [Column] {
        match self {
            SheetKind::Areas => AREAS,
            SheetKind::Houses => HOUSES,
            SheetKind::Households => HOUSEHOLDS,
            SheetKind::Residents => RESIDENTS,
            SheetKind::Posts => POSTS,
        }
    }

    /// The header cells an export writes: `中文 id`.
    pub fn header(self) -> Vec<String> {
        self.columns().iter().map(|c| format!("{} {}", c.zh, c.id)).collect()
    }

    /// The kind whose required columns a header has, with the most columns matched.
    pub fn guess(header: &[String]) -> Option<SheetKind> {
        SheetKind::IMPORTED
            .into_iter()
            .filter_map(|k| {
                let cols = k.columns();
                let found: Vec<&str> = header.iter().filter_map(|h| column_of(cols, h)).collect();
                let complete = cols.iter().filter(|c| c.required).all(|c| found.contains(&c.id));
                complete.then_some((found.len(), k))
            })
            .max_by_key(|(n, _)| *n)
            .map(|(_, k)| k)
    }
}

/// The column id a header cell names, if any.
pub fn column_of(cols: &[Column], cell: &str) -> Option<&'static str> {
    let cell = cell.trim().trim_start_matches('\u{feff}');
    let last = cell.rsplit(char::is_whitespace).next().unwrap_or(cell);
    cols.iter()
        .find(|c| c.id.eq_ignore_ascii_case(last) || c.id.eq_ignore_ascii_case(cell) || c.zh == cell)
        .map(|c| c.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_name_columns_in_either_language() {
        let cols = SheetKind::Residents.columns();
        assert_eq!(column_of(cols, "身份证号 id_number"), Some("id_number"));
        assert_eq!(column_of(cols, "身份证号"), Some("id_number"));
        assert_eq!(column_of(cols, " ID_NUMBER "), Some("id_number"));
        assert_eq!(column_of(cols, "\u{feff}姓名"), Some("name"));
        assert_eq!(column_of(cols, "shoe size"), None);
        let header: Vec<String> = SheetKind::Houses.header();
        assert_eq!(SheetKind::guess(&header), Some(SheetKind::Houses));
        assert_eq!(SheetKind::guess(&SheetKind::Residents.header()), Some(SheetKind::Residents));
        assert_eq!(SheetKind::guess(&["x".to_string()]), None);
        assert_eq!(SheetKind::parse("居民"), Some(SheetKind::Residents));
    }
}
