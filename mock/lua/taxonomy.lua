-- Static vocabularies of the generated dataset: countries, languages,
-- the industry tree (L1 -> L2 -> L3 numeric ids), product categories, ages.
local T = {}

-- code, English name, Chinese name, weight (TikTok creator share), languages {code, weight}
T.countries = {
  { "US", "United States", "美国", 34, { { "en", 90 }, { "es", 10 } } },
  { "GB", "United Kingdom", "英国", 7, { { "en", 100 } } },
  { "CA", "Canada", "加拿大", 4, { { "en", 85 }, { "fr", 15 } } },
  { "AU", "Australia", "澳大利亚", 3, { { "en", 100 } } },
  { "DE", "Germany", "德国", 4, { { "de", 90 }, { "en", 10 } } },
  { "FR", "France", "法国", 4, { { "fr", 100 } } },
  { "ES", "Spain", "西班牙", 3, { { "es", 100 } } },
  { "IT", "Italy", "意大利", 3, { { "it", 100 } } },
  { "NL", "Netherlands", "荷兰", 1, { { "nl", 80 }, { "en", 20 } } },
  { "BR", "Brazil", "巴西", 6, { { "pt", 100 } } },
  { "MX", "Mexico", "墨西哥", 5, { { "es", 100 } } },
  { "ID", "Indonesia", "印度尼西亚", 6, { { "id", 100 } } },
  { "PH", "Philippines", "菲律宾", 3, { { "en", 60 }, { "tl", 40 } } },
  { "TH", "Thailand", "泰国", 3, { { "th", 100 } } },
  { "VN", "Vietnam", "越南", 3, { { "vi", 100 } } },
  { "MY", "Malaysia", "马来西亚", 2, { { "ms", 60 }, { "en", 30 }, { "zh", 10 } } },
  { "SG", "Singapore", "新加坡", 1, { { "en", 70 }, { "zh", 30 } } },
  { "JP", "Japan", "日本", 3, { { "ja", 100 } } },
  { "KR", "South Korea", "韩国", 2, { { "ko", 100 } } },
  { "SA", "Saudi Arabia", "沙特阿拉伯", 2, { { "ar", 100 } } },
  { "AE", "United Arab Emirates", "阿联酋", 1, { { "ar", 60 }, { "en", 40 } } },
  { "TR", "Turkey", "土耳其", 2, { { "tr", 100 } } },
  { "PL", "Poland", "波兰", 1, { { "pl", 100 } } },
  { "CO", "Colombia", "哥伦比亚", 1, { { "es", 100 } } },
}
T.country_by_code = {}
for _, c in ipairs(T.countries) do T.country_by_code[c[1]] = c end

-- Industry tree. L1 ids are the vendor's (1-2 digits); L2 = L1*1000+n; L3 = L2*1000+n.
-- { l1, en, cn, tags, { {l2 suffix, en, cn, { {l3 suffix, en, cn}, ... }}, ... } }
T.industries = {
  { 25, "Beauty & Personal Care", "美妆个护", { "beauty", "makeup", "skincare", "glam", "grwm" }, {
    { 9, "Makeup", "彩妆", { { 1, "Lipstick", "口红" }, { 2, "Foundation", "粉底" }, { 3, "Eye Makeup", "眼妆" } } },
    { 10, "Skincare", "护肤", { { 1, "Serums", "精华" }, { 2, "Sunscreen", "防晒" }, { 3, "Cleansers", "洁面" } } },
    { 11, "Hair Care", "美发护发", { { 1, "Hair Styling", "造型" }, { 2, "Hair Color", "染发" } } },
  } },
  { 16, "Clothing & Fashion", "服饰时尚", { "fashion", "ootd", "style", "outfit", "haul" }, {
    { 3, "Womenswear", "女装", { { 1, "Dresses", "连衣裙" }, { 2, "Activewear", "运动服" } } },
    { 4, "Menswear", "男装", { { 1, "Streetwear", "街头服饰" }, { 2, "Suits", "西装" } } },
    { 5, "Accessories", "配饰", { { 1, "Jewelry", "珠宝" }, { 2, "Bags", "箱包" } } },
  } },
  { 19, "Games", "游戏", { "gaming", "gamer", "twitch", "esports", "minecraft" }, {
    { 1, "Mobile Games", "手游", { { 1, "Strategy", "策略" }, { 2, "Casual", "休闲" } } },
    { 2, "PC & Console", "主机与PC", { { 1, "Shooter", "射击" }, { 2, "RPG", "角色扮演" } } },
  } },
  { 24, "Technology & Electronics", "科技数码", { "tech", "gadgets", "unboxing", "iphone", "setup" }, {
    { 2, "Phones", "手机", { { 1, "Smartphones", "智能手机" }, { 2, "Phone Accessories", "手机配件" } } },
    { 3, "Computers", "电脑", { { 1, "Laptops", "笔记本" }, { 2, "PC Builds", "装机" } } },
  } },
  { 12, "Food & Beverage", "美食饮品", { "food", "recipe", "cooking", "foodie", "asmr" }, {
    { 1, "Recipes", "食谱", { { 1, "Baking", "烘焙" }, { 2, "Quick Meals", "快手菜" } } },
    { 2, "Restaurants", "探店", { { 1, "Street Food", "街头小吃" }, { 2, "Fine Dining", "高级餐厅" } } },
  } },
  { 8, "Sports & Fitness", "运动健身", { "fitness", "gym", "workout", "running", "yoga" }, {
    { 1, "Gym Training", "健身训练", { { 1, "Bodybuilding", "健美" }, { 2, "Home Workout", "居家锻炼" } } },
    { 2, "Outdoor Sports", "户外运动", { { 1, "Running", "跑步" }, { 2, "Cycling", "骑行" } } },
  } },
  { 6, "Travel", "旅行", { "travel", "wanderlust", "vacation", "travelvlog", "explore" }, {
    { 1, "Destinations", "目的地", { { 1, "City Guides", "城市指南" }, { 2, "Beaches", "海滩" } } },
  } },
  { 21, "Home & Living", "家居生活", { "home", "decor", "cleaning", "organization", "diy" }, {
    { 1, "Home Decor", "家居装饰", { { 1, "Interior Design", "室内设计" }, { 2, "Plants", "绿植" } } },
    { 2, "Cleaning", "清洁", { { 1, "Cleaning Hacks", "清洁技巧" } } },
  } },
  { 14, "Parenting & Baby", "母婴亲子", { "mom", "parenting", "baby", "momlife", "family" }, {
    { 1, "Baby Care", "婴儿护理", { { 1, "Newborn", "新生儿" }, { 2, "Toddlers", "幼儿" } } },
  } },
  { 5, "Pets", "宠物", { "pets", "dog", "cat", "puppy", "petsoftiktok" }, {
    { 1, "Dogs", "狗狗", { { 1, "Dog Training", "训犬" } } },
    { 2, "Cats", "猫咪", { { 1, "Cat Care", "养猫" } } },
  } },
  { 3, "Entertainment", "娱乐", { "comedy", "funny", "dance", "music", "prank" }, {
    { 1, "Comedy", "搞笑", { { 1, "Skits", "情景短剧" }, { 2, "Pranks", "恶作剧" } } },
    { 2, "Music & Dance", "音乐舞蹈", { { 1, "Dance", "舞蹈" }, { 2, "Covers", "翻唱" } } },
  } },
  { 11, "Education", "教育", { "learn", "study", "edutok", "language", "science" }, {
    { 1, "Languages", "语言学习", { { 1, "English Learning", "英语学习" } } },
    { 2, "Science", "科普", { { 1, "Physics", "物理" }, { 2, "History", "历史" } } },
  } },
  { 27, "Finance", "财经", { "finance", "investing", "money", "crypto", "budget" }, {
    { 1, "Personal Finance", "个人理财", { { 1, "Budgeting", "预算" }, { 2, "Investing", "投资" } } },
  } },
  { 20, "Automotive", "汽车", { "cars", "carsoftiktok", "detailing", "jdm", "ev" }, {
    { 1, "Car Reviews", "汽车评测", { { 1, "EV", "电动车" }, { 2, "Supercars", "超跑" } } },
  } },
}

-- flattened L3 list and lookups
T.l3 = {}
T.l3_by_id = {}
T.l1_by_id = {}
for li, l1 in ipairs(T.industries) do
  T.l1_by_id[l1[1]] = l1
  for _, l2 in ipairs(l1[5]) do
    local l2id = l1[1] * 1000 + l2[1]
    for _, l3 in ipairs(l2[4]) do
      local id = l2id * 1000 + l3[1]
      local e = { id = id, ids = tostring(id), l1 = l1[1], l1_index = li, l2 = l2id,
        en = { l1[2], l2[2], l3[2] }, cn = { l1[3], l2[3], l3[3] }, tags = l1[4],
        low2 = l2[2]:lower(), low3 = l3[2]:lower(), tag3 = "#" .. l3[2]:lower():gsub("[^%w]", "") }
      T.l3[#T.l3 + 1] = e
      T.l3_by_id[id] = e
    end
  end
end

-- TikTok Shop product categories (EchoTik-style 6-digit ids)
T.product_categories = {
  { "601450", "Beauty & Personal Care", "美妆个护", 25 },
  { "601152", "Womenswear & Underwear", "女装与女士内衣", 16 },
  { "824328", "Menswear & Underwear", "男装与男士内衣", 16 },
  { "605196", "Fashion Accessories", "时尚配件", 16 },
  { "601739", "Phones & Electronics", "手机与数码", 24 },
  { "604453", "Computers & Office Equipment", "电脑办公", 24 },
  { "700437", "Food & Beverages", "食品饮料", 12 },
  { "601303", "Sports & Outdoor", "运动与户外", 8 },
  { "600001", "Home Supplies", "居家日用", 21 },
  { "600024", "Kitchenware", "厨房用品", 12 },
  { "602118", "Baby & Maternity", "母婴用品", 14 },
  { "602284", "Pet Supplies", "宠物用品", 5 },
  { "604579", "Toys & Hobbies", "玩具和爱好", 19 },
  { "604206", "Automotive & Motorcycle", "汽车与摩托车", 20 },
  { "834312", "Books, Magazines & Audio", "图书&杂志&音频", 11 },
  { "700645", "Health", "保健", 8 },
}
T.product_by_id = {}
T.products_by_l1 = {}
for _, p in ipairs(T.product_categories) do
  T.product_by_id[p[1]] = p
  local l = T.products_by_l1[p[4]] or {}
  l[#l + 1] = p
  T.products_by_l1[p[4]] = l
end

T.age_groups = { "13-17", "18-24", "25-34", "35-44", "45-54", "55+" }
T.age_cn = { ["13-17"] = "13-17岁", ["18-24"] = "18-24岁", ["25-34"] = "25-34岁",
  ["35-44"] = "35-44岁", ["45-54"] = "45-54岁", ["55+"] = "55岁以上" }

T.first_names = { "emma", "olivia", "ava", "mia", "sophia", "isabella", "luna", "chloe", "zoe", "lily",
  "liam", "noah", "ethan", "lucas", "mason", "logan", "jack", "leo", "kai", "max",
  "maria", "ana", "sofia", "camila", "valentina", "lucia", "mateo", "diego", "pedro", "joao",
  "putri", "dewi", "siti", "budi", "nguyen", "linh", "mai", "somchai", "nong", "yuki",
  "hana", "sora", "minji", "jisoo", "aisha", "fatima", "omar", "emre", "zeynep", "lena",
  "hannah", "jade", "ruby", "ella", "grace", "nina", "maya", "alex", "sam", "jordan" }
T.last_names = { "smith", "johnson", "brown", "garcia", "martinez", "lopez", "silva", "santos",
  "muller", "schmidt", "dubois", "martin", "rossi", "ferrari", "tan", "lim", "wong", "tran",
  "pham", "sato", "kim", "park", "yilmaz", "kaya", "nowak", "culver", "reed", "hayes", "cruz", "diaz" }
T.handle_words = { "daily", "vibes", "official", "tv", "life", "studio", "world", "xo", "hq", "tok",
  "lab", "diaries", "with", "loves", "the", "real", "just", "its", "by", "club" }
T.mcn_names = { "Whalar", "Viral Nation", "Gleam Futures", "Select Management", "Studio71",
  "Jellysmack", "Mediakix", "Bunny Studio", "Fanbytes", "无忧传媒" }

T.email_domains = { "gmail.com", "outlook.com", "yahoo.com", "icloud.com", "hotmail.com" }

return T
