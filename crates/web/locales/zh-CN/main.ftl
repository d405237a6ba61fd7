# 全站通用的文字
app-name = 网格
skip-to-content = 跳到正文
switch-lang = English
nav-label = 主导航
nav-home = 首页
nav-areas = 区域
nav-households = 户
nav-residents = 居民
nav-houses = 房屋
back-home = 回到首页
search = 搜索
save = 保存
edit = 修改
any = 不限
since = 自
name = 姓名
nothing-found = 没有找到符合条件的记录。
more-filters = 更多筛选
form-has-errors = 表单有错误，请按提示修改。
pager-label = 翻页
pager-prev = 上一页
pager-next = 下一页
page-of = 第 { $page } 页，共 { $pages } 页
total-rows = 共 { $total } 条
crumbs-label = 所在位置

# 登录与岗位
sign-in-title = 登录
sign-in = 登录
sign-out = 退出登录
login = 账号
password = 密码
sign-in-wrong = 账号或密码不对。
sign-in-throttled = 失败次数太多，请 15 分钟后再试。
post-switch = 切换岗位
post-switch-go = 切换
home-title = 首页
home-no-area = 您的岗位没有对应的区域。

post-kind = 岗位类别
post-kind-village-commander = 驻村指挥长
post-kind-station-chief = 站长
post-kind-grid-chief = 网格长
post-kind-grid-member = 网格员
post-kind-unit-chief = 微网格长
post-kind-household-head = 户长
post-kind-party-secretary = 党组织书记
post-kind-volunteer = 志愿者
post-kind-hotline-agent = 热线坐席
post-kind-admin = 管理员

level-county = 县
level-town = 乡镇
level-community = 村（社区）
level-grid = 网格
level-unit = 微网格

# 错误页
error-title-403 = 无权访问
error-title-404 = 找不到页面
error-title-422 = 无法处理
error-title-429 = 请稍后再试
error-title-500 = 出错了
error-not-found = 这个页面不存在，或已被删除。
error-forbidden = 这不在您的岗位管辖范围内。
error-csrf = 表单已过期，请返回上一页刷新后再提交。
error-no-post = 您的账号目前没有任何岗位，请联系管理员。
error-internal = 服务器出错了，请稍后再试。

# 字段错误
err-required = 必须填写。
err-too-long = 太长了。
err-bad-id-number = 身份证号码不正确：应为 18 位，且最后一位校验码要对得上。
err-bad-phone = 手机号码不正确：应为 11 位数字，以 1 开头。
err-bad-date = 日期格式不对，应为 年-月-日。
err-in-future = 日期不能晚于今天。
err-mismatch-id-number = 性别与身份证号码不符。
err-bad-code = 编码不对：应以上级编码开头，长度符合规定。
err-code-taken = 这个编码已被使用。
err-unknown-tag = 没有这种标签。
err-house-required = 请先选择房屋。
err-household-unknown = 您管辖范围内没有这个户编码。
err-login-unknown = 没有这个账号。
err-post-held = 这个区域已经有人担任此岗位。
err-head-exists = 这户已经有户主了。
err-already-member = 已经是这一户的成员。

# 修改密码
password-title = 修改密码
password-changed = 密码已修改。
password-must-change = 这是一次性密码，请先设置您自己的密码。
password-old = 当前密码
password-new = 新密码
password-hint = 至少 10 个字符。
password-repeat = 再输一次新密码
password-save = 保存新密码
err-passwords-differ = 两次输入的新密码不一样。
err-too-short = 太短了：至少 10 个字符。
err-wrong-password = 当前密码不对。
