# Text used across the site
app-name = Wangge
skip-to-content = Skip to content
switch-lang = 中文
nav-label = Main navigation
nav-home = Home
nav-areas = Areas
nav-households = Households
nav-residents = Residents
nav-houses = Houses
back-home = Back to the home page
search = Search
save = Save
edit = Edit
any = Any
since = since
name = Name
nothing-found = Nothing matches.
more-filters = More filters
form-has-errors = The form has errors; see the notes by each field.
pager-label = Pages
pager-prev = Previous
pager-next = Next
page-of = Page { $page } of { $pages }
total-rows = { $total } in all
crumbs-label = You are here

# Signing in and posts
sign-in-title = Sign in
sign-in = Sign in
sign-out = Sign out
login = Login
password = Password
sign-in-wrong = Wrong login or password.
sign-in-throttled = Too many failed attempts: try again in 15 minutes.
post-switch = Switch post
post-switch-go = Switch
home-title = Home
home-no-area = Your post has no area.

post-kind = Kind of post
post-kind-village-commander = Village commander
post-kind-station-chief = Station chief
post-kind-grid-chief = Grid chief
post-kind-grid-member = Grid member
post-kind-unit-chief = Unit chief
post-kind-household-head = Household head
post-kind-party-secretary = Party secretary
post-kind-volunteer = Volunteer
post-kind-hotline-agent = Hotline agent
post-kind-admin = Administrator

level-county = County
level-town = Town
level-community = Village or community
level-grid = Grid
level-unit = Unit

# Error pages
error-title-403 = Not allowed
error-title-404 = Not found
error-title-422 = Cannot be done
error-title-429 = Please wait
error-title-500 = Something went wrong
error-not-found = This page does not exist, or was removed.
error-forbidden = This is outside what your post is in charge of.
error-csrf = The form has expired: go back, reload the page and send it again.
error-no-post = Your account holds no post at present; ask your administrator for one.
error-internal = The server failed; please try again later.

# Field errors
err-required = Required.
err-too-long = Too long.
err-bad-id-number = This ID number is not valid: it has 18 characters and its last one is a check digit that must match.
err-bad-phone = This phone number is not valid: 11 digits starting with 1.
err-bad-date = Write the date as year-month-day.
err-in-future = The date cannot be after today.
err-mismatch-id-number = The sex does not match the ID number.
err-bad-code = This code is not valid: it starts with the parent's code and has the set length.
err-code-taken = This code is already in use.
err-unknown-tag = There is no such tag.
err-house-required = Choose a house first.
err-household-unknown = No household with this code is in your area.
err-login-unknown = There is no account with this login.
err-post-held = Someone already holds this post here.
err-head-exists = This household already has a head.
err-already-member = Already a member of this household.

# Changing one's password
password-title = Change password
password-changed = Your password has been changed.
password-must-change = This was a one-time password: set your own first.
password-old = Current password
password-new = New password
password-hint = At least 10 characters.
password-repeat = New password again
password-save = Save the new password
err-passwords-differ = The two new passwords differ.
err-too-short = Too short: at least 10 characters.
err-wrong-password = The current password is wrong.
