#!/usr/bin/env lua5.4
-- fuzz/seeds.lua — (re)writes the seed corpus in fuzz/corpus/<target>/.
--   lua5.4 fuzz/seeds.lua          (from the repository root)
-- The bodies are the examples of the vendor documents (
-- the CreatiVault Open API reference and the KeyAPI influencer-list OpenAPI
-- description) plus JSON edge cases. The envelope and query
-- seeds are wrapped in the binary layouts that fuzz/fuzz_envelope.c and
-- fuzz/fuzz_query.c read (see the comments at the top of those files).
-- Files are named after their content, so running this twice changes nothing.

local function write(dir, name, data)
  os.execute("mkdir -p " .. dir)
  local f = assert(io.open(dir .. "/" .. name, "wb"))
  f:write(data)
  f:close()
end

-- ---------------------------------------------------------------- bodies
local B = {}

B.cv_search_ok = [[{"success":true,"data":{"items":[{"uid":"tt_123456","username":"creator_demo","nickname":"Demo Creator","avatar_url":"https://cdn.example.com/avatar.jpg","profile_url":"https://www.tiktok.com/@creator_demo","country_code":"US","gender":"female","followers_count":150000,"likes_count":3200000,"avg_views":45000,"engagement_rate":0.065,"has_showcase":true,"product_categories":["Beauty","Fashion"],"last_video_publish_date":"2026-03-10"}]},"error":null,"meta":{"request_id":"req_abc123","page":1,"size":20,"total":3580,"quota_remaining":-1,"service_level":"S2","credits_consumed":60}}]]
B.cv_search_strings = [[{"success":true,"data":{"items":[{"uid":"tt_1","followers_count":"150000","engagement_rate":"0.065","has_showcase":"true"}]},"error":null,"meta":{"request_id":"4f1c2d3e-aaaa-bbbb-cccc-0123456789ab","page":1,"size":20,"total":null,"quota_remaining":1000,"credits_remaining":-1,"lang":null}}]]
B.cv_auth_error = [[{"success":false,"data":null,"error":{"code":40101,"message":"API Key 无效"},"meta":{"request_id":"req_abc123","page":null,"size":null,"total":null,"quota_remaining":-1}}]]
B.cv_rate_limited = [[{"success":false,"data":null,"error":{"code":42901,"message":"请求频率超出限制，请稍后重试"},"meta":{"request_id":"req_rl_001"}}]]
B.cv_quota = [[{"success":false,"data":null,"error":{"code":42902,"message":"每日配额已用尽，请明日重试或升级套餐"},"meta":{"request_id":"req_q_001"}}]]
B.cv_credits = [[{"success":false,"data":null,"error":{"code":40201,"message":"积分余额不足"},"meta":{"request_id":"req_c_001"}}]]
B.cv_audit_200 = [[{"success":false,"data":null,"error":{"code":40002,"message":"task not completed"},"meta":{"request_id":"req_va_002"}}]]
B.cv_no_code = [[{"success":false,"data":null,"error":null,"meta":null}]]
B.cv_code_string = [[{"success":false,"error":{"code":"50001","message":"Internal server error"},"meta":{"request_id":12345}}]]
B.cv_task_status = [[{"success":true,"data":{"task_id":"task_20260315_abc123","status":"processing","total":2,"completed":1,"failed":0,"progress":50.0},"error":null,"meta":{"request_id":"req_mno345"}}]]
B.cv_task_data = [[{"success":true,"data":{"columns_config":["username","nickname","followers_count","country_code"],"items":[{"username":"creator1","nickname":"C1","followers_count":1200,"country_code":"US"},{"username":"creator2","nickname":"C2","followers_count":98000,"country_code":"GB"}],"total":2,"page":1,"size":20},"error":null,"meta":{"request_id":"req_pqr678","page":1,"size":20,"total":2,"quota_remaining":998}}]]
B.cv_export = [[{"success":true,"data":{"file_id":"a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6","file_name":"task_20260315_abc123.xlsx","file_url":"https://static.creativault.vip/influencer%2Fexport.xlsx?auth_key=1711267200-abc123def456-0-md5hash","file_expire_at":"2026-03-24T09:00:00+00:00","format":"xlsx","row_count":2},"error":null,"meta":{"request_id":"req_file_001"}}]]
B.cv_download = [[{"success":true,"data":{"file_id":"a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6","file_name":"creators.xlsx","file_url":"https://static.creativault.vip/influencer%2F...xls?auth_key=1711267200-abc123def456-0-md5hash","file_expire_at":"2026-03-24T09:00:00+00:00"},"error":null,"meta":{"page":null,"size":null,"total":null,"quota_remaining":1000}}]]
B.cv_webhook_verify = [[{"success":true,"data":{"challenge":"test_connectivity_12345"},"error":null,"meta":{"request_id":"req_wh_001"}}]]
B.cv_webhook_payload = [[{"event":"collection.completed","task_id":"task_20260315_abc123","task_type":"LINK_BATCH","status":"completed","total":2,"completed":2,"failed":0,"timestamp":"2026-03-15T10:45:00Z"}]]
B.cv_echo_key = [[{"success":false,"data":null,"error":{"code":40101,"message":"invalid key cv_live_TOPSECRETkey123 for tenant"},"meta":{"request_id":"req_abc123"}}]]

local ka_row = [[{"avatar":"https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/77eebc91f0b5728ad38d8f0edeb567e0~tplv-tiktokx-cropcenter:100:100.jpeg?dr=10399&refresh_token=cef28bf7&x-expires=1756242000&x-signature=jL3CBEBjqpNqtOwtxWxQcIjCWNo%3D&t=4d5b0474&ps=13740610&shp=a5d48078&shcp=81f88b70&idc=no1a","avg_30d_price":0,"category":"","contact_email":"","ec_score":2.62,"first_crawl_dt":20250816,"gender":"","influencer_video_duration_level":"{}","influencer_video_publish_hour":"{}","influencer_video_publish_week":"{}","interaction_rate":0,"language":"en","most_category_product":"[]","most_views_video":"","nick_name":"Hannah Culver","off_mark":0,"per_video_product_views_avg_7d_cnt":0,"region":"US","sales_flag":0,"seller_id":null,"show_case_flag":0,"signature":"","total_comments_cnt":0,"total_digg_1d_cnt":0,"total_digg_30d_cnt":0,"total_digg_7d_cnt":0,"total_digg_90d_cnt":0,"total_digg_cnt":2,"total_followers_1d_cnt":0,"total_followers_30d_cnt":0,"total_followers_7d_cnt":0,"total_followers_90d_cnt":1,"total_followers_cnt":183,"total_following_cnt":571,"total_likes_cnt":0,"total_live_cnt":0,"total_live_sale_gmv_30d_amt":0,"total_post_video_cnt":0,"total_product_30d_cnt":0,"total_product_cnt":0,"total_sale_cnt":0,"total_sale_gmv_30d_amt":0,"total_sale_gmv_amt":0,"total_shares_cnt":0,"total_video_product_30d_cnt":0,"total_video_sale_30d_cnt":0,"total_video_sale_gmv_30d_amt":0,"total_views_cnt":0,"unique_id":"hannahdowns","user_id":"1000038"}]]
B.ka_list_ok = '{"code":0,"message":"success","data":[' .. ka_row .. '],"requestId":"cf984f6f-04fa-4393-8ca3-f430d9cdec7e"}'
-- ten rows: over 4096 bytes, so the decoder's object-key cache is used
B.ka_list_page = '{"code":0,"message":"success","data":[' .. string.rep(ka_row, 10, ",")
  .. '],"requestId":"0e0b5e10-2c7e-4f84-90e6-52e569e8bc36"}'
B.ka_400 = [[{"code":400,"data":null,"message":"Missing required parameter: handle"}]]
B.ka_401 = [[{"code":401,"data":null,"message":"apiKey is null"}]]
B.ka_402 = [[{"code":402,"data":null,"message":"apiKey quota is not enough"}]]
B.ka_404 = [[{"code":404,"data":null,"message":"creator may not be a TikTok Shop creator","requestId":"2a7c9f00-1111-2222-3333-444455556666"}]]
B.ka_429 = [[{"code":429,"data":null,"message":"qps limit exceeded"}]]
B.ka_500 = [[{"code":500,"data":null,"message":"Internal server error"}]]
B.ka_500_usage = [[{"code":500,"data":null,"message":"Usage Limit Exceeded","requestId":"cf984f6f-04fa-4393-8ca3-f430d9cdec7e"}]]
B.ka_code_float = [[{"code":0.0,"message":"success","data":{"cursor":"1700000000000","has_more":true,"max_cursor":1700000000123}}]]
B.fastapi_422 = [[{"detail":[{"loc":["body","page"],"msg":"ensure this value is greater than or equal to 1","type":"value_error.number.not_ge"}]}]]
B.fastapi_404 = [[{"detail":"Task not found"}]]
B.bare_message = [[{"message":"File not found"}]]
B.html_502 = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
B.text_key_echo = "Unauthorized: Bearer sk-keyapi-0123456789abcdef is not valid\n"

-- JSON edge cases (the decoder's documented rules, docs/json.md)
local E = {}
E.int_max = "9223372036854775807"
E.int_min = "-9223372036854775808"
E.int_over = "9223372036854775808"
E.int_2p53p1 = "[9007199254740993,-9007199254740993]"
E.big_ids = [[{"user_id":1234567890123456789,"ids":[6999999999999999999,-1,0,-0]}]]
E.floats = "[1.0,2.62,0.1,1e2,1E+2,1e-7,-0.0,0.30000000000000004,5e-324,1.7976931348623157e308,123456789012345678901234567890]"
E.overflow = "[1e400]"
E.underflow = "[1e-400,-1e-400]"
E.long_mantissa = "3.14159265358979323846264338327950288419716939937510582097494459230781640628620899"
E.escapes = [==["\" \\ \/ \b \f \n \r \t \u0000 \u001f \u00e9 \u20ac \ud83d\ude00 é €"]==]
E.lone_high = [["\ud83d"]]
E.lone_low = [["\ude00x"]]
E.high_then_bad = [["\ud83d\u0041"]]
E.bad_hex = [["\u12G4"]]
E.key_escapes = [[{"a\u0000b":1,"\u00e9":2,"":3,"a":4,"a":5}]]
E.utf8_overlong = '["\192\128"]'
E.utf8_surrogate = '["\237\160\128"]'
E.utf8_too_big = '["\244\144\128\128"]'
E.utf8_truncated = '["\226\130"]'
E.utf8_in_key = '{"\255":1}'
E.utf8_valid4 = '["\240\159\152\128","\244\143\191\191"]'
E.ctrl_in_string = '["a\tb"]'
E.empty = ""
E.ws_only = " \t\r\n"
E.trailing = "[1] x"
E.two_values = "1 2"
E.comment = "/* c */ [1]"
E.nulls = "[null,true,false,{},[],[[]],{\"a\":{}}]"
E.deep_ok = string.rep("[", 1000) .. string.rep("]", 1000)
E.deep_over = string.rep("[", 1001) .. string.rep("]", 1001)
E.deep_obj = string.rep('{"a":', 999) .. "1" .. string.rep("}", 999)
E.deep_mixed = string.rep('[{"k":', 400) .. "null" .. string.rep("}]", 400)
E.deep_10k = string.rep("[", 10000)
E.unterminated = '{"a":[1,2'
E.nul_byte = "[1,\0]"
E.sparse_like = '{"1":"a","2":"b","3":"c"}'
E.long_string = '"' .. string.rep("abcdefgh\\n", 300) .. '"'
E.many_keys = "{" .. (function()
  local t = {}
  for i = 1, 300 do t[#t + 1] = string.format('"key_%03d":%d', i, i) end
  return table.concat(t, ",")
end)() .. "}"

for name, body in pairs(B) do write("fuzz/corpus/json", name .. ".json", body) end
for name, body in pairs(E) do write("fuzz/corpus/json", "edge_" .. name .. ".json", body) end

-- -------------------------------------------------------------- envelope
-- flags: bit0 keyapi, bits1-2 secret (0 cv key, 1 none, 2 short, 3 keyapi key),
-- bit3 no headers table, bit4 max_depth 4
local function env(keyapi, secret, status, headers, body, extra)
  local flags = (keyapi and 1 or 0) | (secret << 1) | (extra or 0)
  headers = headers or ""
  assert(#headers < 256)
  return string.char(flags, status >> 8, status & 255, #headers) .. headers .. body
end
local CV, KA = false, true
local E2 = {
  cv_200_ok = env(CV, 0, 200, "content-type: application/json\nx-request-id: req_hdr_1", B.cv_search_ok),
  cv_200_strings = env(CV, 0, 200, nil, B.cv_search_strings),
  cv_401 = env(CV, 0, 401, nil, B.cv_auth_error),
  cv_429 = env(CV, 0, 429, "retry-after: 60", B.cv_rate_limited),
  cv_429_date = env(CV, 0, 429, "retry-after: Wed, 21 Oct 2015 07:28:00 GMT", B.cv_rate_limited),
  cv_429_future = env(CV, 0, 429, "Retry-After: Fri, 01 Jan 2100 00:00:00 GMT", B.cv_rate_limited),
  cv_402_quota = env(CV, 0, 402, nil, B.cv_quota),
  cv_402_credits = env(CV, 0, 402, nil, B.cv_credits),
  cv_200_audit = env(CV, 0, 200, nil, B.cv_audit_200),
  cv_200_nocode = env(CV, 0, 200, nil, B.cv_no_code),
  cv_500_strcode = env(CV, 0, 500, "x-request-id: 9f0e", B.cv_code_string),
  cv_status = env(CV, 0, 200, nil, B.cv_task_status),
  cv_data = env(CV, 0, 200, nil, B.cv_task_data),
  cv_export = env(CV, 0, 200, nil, B.cv_export),
  cv_download = env(CV, 0, 200, nil, B.cv_download),
  cv_verify_nokey = env(CV, 1, 200, nil, B.cv_webhook_verify),
  cv_echo_key = env(CV, 0, 401, nil, B.cv_echo_key),
  cv_422 = env(CV, 0, 422, nil, B.fastapi_422),
  cv_404_detail = env(CV, 0, 404, nil, B.fastapi_404),
  cv_404_message = env(CV, 0, 404, nil, B.bare_message),
  cv_502_html = env(CV, 0, 502, "retry-after: 120", B.html_502),
  cv_200_html = env(CV, 0, 200, nil, B.html_502),
  cv_204_empty = env(CV, 0, 204, nil, ""),
  cv_500_empty = env(CV, 0, 500, nil, ""),
  cv_302 = env(CV, 0, 302, "location: https://example.com/", ""),
  cv_200_array = env(CV, 0, 200, nil, "[1,2,3]"),
  cv_200_deep = env(CV, 0, 200, nil, B.cv_task_data, 16),
  cv_no_headers = env(CV, 0, 429, nil, B.cv_rate_limited, 8),
  ka_200_ok = env(KA, 3, 200, "x-request-id: cf984f6f", B.ka_list_ok),
  ka_200_page = env(KA, 3, 200, nil, B.ka_list_page),
  ka_400 = env(KA, 3, 400, nil, B.ka_400),
  ka_401 = env(KA, 3, 401, nil, B.ka_401),
  ka_402 = env(KA, 3, 402, nil, B.ka_402),
  ka_404 = env(KA, 3, 404, nil, B.ka_404),
  ka_429 = env(KA, 3, 429, "retry-after: 60", B.ka_429),
  ka_500 = env(KA, 3, 500, nil, B.ka_500),
  ka_200_500 = env(KA, 3, 200, nil, B.ka_500_usage),
  ka_200_float = env(KA, 3, 200, nil, B.ka_code_float),
  ka_401_text = env(KA, 3, 401, nil, B.text_key_echo),
  ka_short_secret = env(KA, 2, 401, nil, B.ka_401),
  ka_cv_body = env(KA, 3, 200, nil, B.cv_search_ok),
  cv_ka_body = env(CV, 0, 200, nil, B.ka_list_ok),
  ka_status0 = env(KA, 1, 0, nil, B.ka_500),
  ka_103 = env(KA, 1, 103, nil, ""),
  cv_bad_utf8 = env(CV, 0, 500, nil, "error \255\254 \226\130 done\0tail"),
}
for name, data in pairs(E2) do write("fuzz/corpus/envelope", name .. ".bin", data) end

-- ----------------------------------------------------------------- query
-- layout (fuzz_query.c fz_build): flags, n % 12, then per entry a key type
-- byte (kt % 24 >= 3: string key of length byte % 32) and a value type byte
-- (% 18) with its payload.
local function key(s) assert(#s < 32); return string.char(3, #s) .. s end
local function int(i) return string.char(0) .. string.pack(">i8", i) end
local function float(x) return string.char(2) .. string.pack(">d", x) end
local function str(s) assert(#s < 40); return string.char(6, #s) .. s end
local TRUE, FALSE, NULL = string.char(4), string.char(5), string.char(9)
local function special(k) return string.char(3, k) end
local function arr(...)
  local items = { ... }
  return string.char(11, #items) .. table.concat(items)
end
local function query(locale_de, entries)
  local out = { string.char(locale_de and 1 or 0, #entries) }
  for _, e in ipairs(entries) do out[#out + 1] = e[1] .. e[2] end
  return table.concat(out)
end
local Q = {
  ka_list = query(false, {
    { key "region", str "US" }, { key "page_num", int(1) }, { key "page_size", int(10) },
    { key "sort_type", int(0) }, { key "gender", str "" }, { key "min_total_views_cnt", int(0) },
    { key "influencer_sort_field_v2", int(0) }, { key "product_category_id", NULL },
  }),
  ka_rates_de = query(true, {
    { key "min_interaction_rate", float(0.05) }, { key "max_interaction_rate", float(0.125) },
    { key "region", str "DE" }, { key "page_num", str "1" }, { key "page_size", str "10" },
  }),
  arrays = query(false, {
    { key "ids", arr(int(6999999999999999999), int(-1), float(1.5)) },
    { key "tags", arr(str "a,b", str "c&d=e", str "caf\195\169") },
    { key "flags", arr(TRUE, FALSE) }, { key "empty", string.char(14) },
  }),
  specials = query(true, {
    { key "a", special(0) }, { key "b", special(1) }, { key "c", special(2) },
    { key "d", special(3) }, { key "e", special(4) }, { key "f", special(11) },
  }),
  nan = query(false, { { key "x", special(20) }, { key "y", int(1) } }),
  inf_in_array = query(false, { { key "x", arr(int(1), special(21)) } }),
  bad_types = query(false, { { key "f", string.char(16) }, { key "h", string.char(15, 1) } }),
  nested = query(false, { { key "n", arr(arr(int(1))) } }),
  null_in_array = query(false, { { key "n", arr(NULL) } }),
  odd_keys = query(false, {
    { key "a b", str "x y" }, { key "ü", str "/?#[]@!$&'()*+,;=" }, { key "", str "" },
    { key "~._-", str "~._-" },
  }),
  nul_key = query(false, { { string.char(0x83, 3) .. "a\0b", int(1) } }),
  int_key = query(false, { { string.char(0, 5), int(1) }, { key "z", int(2) } }),
  bytes = query(false, { { key "raw", str "\0\1\127\128\255%" } }),
}
for name, data in pairs(Q) do write("fuzz/corpus/query", name .. ".bin", data) end
print("seed corpus written to fuzz/corpus/{json,envelope,query}")
