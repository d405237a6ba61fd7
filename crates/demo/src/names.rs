//! Tables for names, places and phone numbers. Static slices so that generating a million
//! residents only concatenates, never formats.

use wangge_core::Sex;

use crate::rng::Rng;

/// Common surnames with relative weights. Putian (and so Xianyou) is dominated by
/// 陈, 林, 黄 and 郑, far more than the national average.
pub(crate) const SURNAMES: &[(&str, u32)] = &[
    ("陈", 140),
    ("林", 120),
    ("黄", 90),
    ("郑", 80),
    ("王", 40),
    ("李", 40),
    ("张", 38),
    ("吴", 38),
    ("蔡", 30),
    ("刘", 30),
    ("许", 24),
    ("杨", 20),
    ("朱", 16),
    ("徐", 16),
    ("余", 15),
    ("方", 15),
    ("翁", 15),
    ("谢", 12),
    ("洪", 12),
    ("卓", 10),
    ("傅", 10),
    ("何", 10),
    ("周", 10),
    ("苏", 10),
    ("康", 9),
    ("游", 9),
    ("柯", 9),
    ("宋", 6),
    ("唐", 6),
    ("詹", 6),
    ("邱", 6),
    ("曾", 6),
    ("潘", 6),
    ("肖", 5),
    ("魏", 4),
    ("戴", 4),
    ("严", 4),
    ("姚", 4),
    ("薛", 4),
    ("彭", 3),
    ("温", 3),
    ("江", 3),
    ("罗", 3),
    ("叶", 3),
    ("欧阳", 1),
];

// Given-name characters by birth cohort and sex: names went from 福/秀 to 伟/丽 to 浩/涵.
const OLD_MALE: &[&str] = &[
    "福", "金", "荣", "德", "国", "建", "明", "文", "清", "水", "木", "春", "秋", "发", "财", "宝", "贵", "忠", "义",
    "顺", "生", "根", "山", "海", "华", "成", "章", "祥", "兴", "昌", "炳", "元", "添", "旺", "来", "田",
];
const OLD_FEMALE: &[&str] = &[
    "秀", "珍", "英", "兰", "玉", "凤", "桂", "梅", "花", "琴", "娥", "金", "银", "月", "莲", "菊", "芳", "淑", "美",
    "霞", "香", "云", "翠", "娇", "素", "妹", "丽", "华", "清", "惠", "荷", "春", "爱", "萍", "仙", "碧",
];
const MID_MALE: &[&str] = &[
    "伟", "强", "军", "斌", "杰", "勇", "辉", "峰", "涛", "磊", "鹏", "亮", "俊", "志", "明", "华", "建", "平", "东",
    "新", "文", "宏", "彬", "剑", "锋", "海", "波", "超", "健", "毅", "凯", "龙", "林", "晖", "阳", "旭",
];
const MID_FEMALE: &[&str] = &[
    "丽", "娟", "敏", "静", "燕", "红", "霞", "婷", "琳", "玲", "萍", "芳", "雪", "慧", "丹", "艳", "颖", "莉", "娜",
    "倩", "晶", "蓉", "梅", "洁", "琼", "玉", "秀", "青", "琴", "佳", "雅", "莹", "薇", "婧", "莎", "虹",
];
const NEW_MALE: &[&str] = &[
    "浩", "宇", "轩", "睿", "博", "泽", "晨", "子", "梓", "铭", "航", "昊", "然", "豪", "涵", "宸", "皓", "煜", "楷",
    "琛", "辰", "逸", "锦", "宏", "俊", "杰", "凯", "瑞", "翔", "一", "嘉", "文", "哲", "彦", "诚", "远",
];
const NEW_FEMALE: &[&str] = &[
    "涵", "萱", "欣", "怡", "诗", "悦", "彤", "妍", "琪", "雨", "梓", "思", "可", "馨", "语", "若", "芯", "婉", "佳",
    "雅", "静", "梦", "雪", "晴", "瑶", "琳", "蕊", "颖", "菲", "紫", "童", "依", "心", "一", "月", "茜",
];

/// Mobile prefixes in use by the three carriers; every one starts with 13, 15, 18 or 19.
const PHONE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156",
    "157", "158", "159", "180", "181", "182", "183", "184", "185", "186", "187", "188", "189", "191", "193", "195",
    "198", "199",
];

/// Syllables for invented place names in synthetic counties (typical of southern Fujian).
pub(crate) const PLACE_FIRST: &[&str] = &[
    "东", "西", "南", "北", "上", "下", "龙", "凤", "金", "石", "云", "青", "白", "大", "小", "新", "长", "安", "平",
    "丰", "兴", "永", "福", "宝", "溪", "林", "桃", "梅", "竹", "松",
];
pub(crate) const PLACE_SECOND: &[&str] = &[
    "山", "溪", "湖", "岭", "桥", "坂", "田", "峰", "洋", "塘", "湾", "浦", "口", "头", "坑", "林", "庄", "园", "泉",
    "亭", "洲", "埔", "厝", "兜",
];
/// Natural-village (自然村) names used as the "road" of a village grid.
pub(crate) const HAMLETS: &[&str] = &[
    "后厝", "前厝", "顶厝", "下厝", "溪边", "林头", "坑口", "洋中", "岭下", "田中", "桥头", "埔尾", "新厝", "东坂",
    "西坂", "塘边", "山后", "井头", "宫前", "石门",
];
/// Street suffixes for grids in an urban community.
pub(crate) const STREETS: &[&str] = &["路", "街", "东路", "西路", "南街", "北街", "中路", "巷", "新村", "里"];

/// A surname drawn in O(1) from a table of slots filled by weight.
#[derive(Debug, Clone)]
pub(crate) struct SurnameTable {
    slots: Vec<&'static str>,
}

impl SurnameTable {
    pub(crate) fn new() -> SurnameTable {
        let mut slots = Vec::new();
        for (name, weight) in SURNAMES {
            slots.extend(std::iter::repeat_n(*name, *weight as usize));
        }
        SurnameTable { slots }
    }

    pub(crate) fn draw(&self, rng: &mut Rng) -> &'static str {
        self.slots[rng.index(self.slots.len())]
    }
}

/// A given name of one or two characters, in the fashion of the birth year.
pub(crate) fn push_given_name(out: &mut String, rng: &mut Rng, sex: Sex, birth_year: i32) {
    let chars = match (sex, birth_year) {
        (Sex::Male, ..1970) => OLD_MALE,
        (Sex::Female, ..1970) => OLD_FEMALE,
        (Sex::Male, 1970..1995) => MID_MALE,
        (Sex::Female, 1970..1995) => MID_FEMALE,
        (Sex::Male, _) => NEW_MALE,
        (Sex::Female, _) => NEW_FEMALE,
    };
    out.push_str(rng.pick(chars));
    // One-character given names were fashionable mostly in the 1970s-90s.
    let single = if (1970..1995).contains(&birth_year) { 0.3 } else { 0.12 };
    if !rng.chance(single) {
        out.push_str(rng.pick(chars));
    }
}

/// An 11-digit mobile number.
pub(crate) fn phone(rng: &mut Rng) -> String {
    let mut s = String::with_capacity(11);
    s.push_str(rng.pick(PHONE_PREFIXES));
    push_padded(&mut s, rng.below(100_000_000), 8);
    s
}

/// Chinese numerals for ordinals like 第三网格; digits beyond 99.
pub(crate) fn chinese_number(n: usize) -> String {
    const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        0..=9 => DIGITS[n].to_string(),
        10 => "十".to_string(),
        11..=19 => format!("十{}", DIGITS[n % 10]),
        20..=99 if n.is_multiple_of(10) => format!("{}十", DIGITS[n / 10]),
        20..=99 => format!("{}十{}", DIGITS[n / 10], DIGITS[n % 10]),
        _ => n.to_string(),
    }
}

/// Appends `n` as exactly `width` digits (zero-padded; `n` must fit).
pub(crate) fn push_padded(out: &mut String, n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut v = n;
    for i in (0..width).rev() {
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    debug_assert_eq!(v, 0, "{n} does not fit in {width} digits");
    out.push_str(std::str::from_utf8(&buf[..width]).expect("ASCII digits"));
}

/// Appends `n` in decimal without padding.
pub(crate) fn push_number(out: &mut String, n: u64) {
    let width = if n == 0 { 1 } else { n.ilog10() as usize + 1 };
    push_padded(out, n, width);
}

/// The full code of the `n`th child, as `CodeWidths::child_code` but without `format!`.
pub(crate) fn child_code(parent: &str, width: usize, n: usize) -> String {
    let mut s = String::with_capacity(parent.len() + width);
    s.push_str(parent);
    push_padded(&mut s, n as u64, width);
    s
}
