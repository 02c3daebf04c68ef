# The benchmark schema (fixtures/crm_contact.schema.json) written as a jq program, for
# comparison: `jq -c -f benches/mapping.jq contacts.ndjson`. Same output lines as
# `syncdeck mapping apply` (jq's float rounding stands in for decimal rounding).
def stage_probability:
  {"Prospecting": 10, "Qualification": 20, "Needs Analysis": 30,
   "Proposal/Price Quote": 60, "Negotiation/Review": 80,
   "Closed Won": 100, "Closed Lost": 0}[.];
def trim: sub("^\\s+"; "") | sub("\\s+$"; "");
def round2: . * 100 | if . < 0 then -((0.5 - .) | floor) else (. + 0.5 | floor) end | . / 100;

if .IsDeleted == false then
  { key: (.Id | tostring), status: "ok",
    record: {
      externalId: .Id,
      fullName: ([.FirstName, .LastName] | map(select(. != null) | tostring) | join(" ") | if . == "" then null else . end),
      email: (.Email | if . == null then null else ascii_downcase | trim end),
      phone: (.Phone | if . == null then null else gsub(" "; "") end),
      city: .MailingAddress.city,
      probability: (.Stage | stage_probability),
      annualRevenue: (.AnnualRevenue | if . == null then null else tonumber | round2 end),
      createdOn: (.CreatedDate | if . == null then null else .[0:10] end),
      source: "crm-import",
      title: .Title
    },
    errors: [] }
else
  { key: (.Id | tostring), status: "skipped", record: {}, errors: [] }
end
