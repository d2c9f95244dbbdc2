"""OCDS 1.1 codelists the field checks use (closed codelists, plus the open ones' standard codes)."""

from __future__ import annotations

TENDER_STATUS = ("planning", "planned", "active", "cancelled", "unsuccessful", "complete", "withdrawn")
AWARD_STATUS = ("pending", "active", "cancelled", "unsuccessful")
CONTRACT_STATUS = ("pending", "active", "cancelled", "terminated")
PROCUREMENT_METHOD = ("open", "selective", "limited", "direct")
PROCUREMENT_CATEGORY = ("goods", "works", "services")
INITIATION_TYPE = ("tender",)
PARTY_ROLES = (
    "buyer", "procuringEntity", "supplier", "tenderer", "funder", "enquirer", "payer", "payee",
    "reviewBody", "interestedParty",
)
DOCUMENT_TYPE = (
    "plannedProcurementNotice", "tenderNotice", "awardNotice", "contractNotice", "completionCertificate",
    "procurementPlan", "biddingDocuments", "technicalSpecifications", "evaluationCriteria", "evaluationReports",
    "contractDraft", "contractSigned", "contractArrangements", "contractSchedule", "physicalProgressReport",
    "financialProgressReport", "finalAudit", "hearingNotice", "marketStudies", "eligibilityCriteria",
    "clarifications", "shortlistedFirms", "environmentalImpact", "assetAndLiabilityAssessment",
    "riskProvisions", "winningBid", "complaints", "contractAnnexe", "contractGuarantees", "subContract",
    "needsAssessment", "feasibilityStudy", "projectPlan", "billOfQuantity", "bidders", "conflictOfInterest",
    "debarments", "illustration", "submissionDocuments", "contractSummary", "cancellationDetails",
)
# ISO 639-1 two-letter language codes.
LANGUAGES = tuple(
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz "
    "ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik "
    "io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml "
    "mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd "
    "se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi "
    "vo wa wo xh yi yo za zh zu".split()
)
# Organization identifier schemes (org-id.guide prefixes) seen in OCDS publications; a subset.
IDENTIFIER_SCHEMES = (
    "GB-COH", "GB-CHC", "GB-LAC", "GB-GOR", "GB-NHS", "GB-EDU", "GB-SHPE", "GB-UKPRN", "MX-RFC", "CA-CRA_ACR",
    "CA-GOV", "PT-NIPC", "PT-NIPPC", "US-EIN", "US-DUNS", "FR-RCS", "FR-SIRET", "DE-CR", "ES-DIR3", "IT-CF",
    "NL-KVK", "BE-BCE_KBO", "CO-RUE", "CL-RUT", "PE-RUC", "PY-RUC", "PY-PGN", "AR-CUIT", "BR-CNPJ", "UA-EDR",
    "KE-RCO", "NG-CAC", "NP-CRO", "IN-MCA", "PH-SEC", "XI-IATI", "XI-PB", "XI-GRID", "XI-LEI", "XM-DAC",
    "XI-EORI", "XI-WIKIDATA", "DO-RPE", "HN-ONCAE-CE", "EC-RUC", "UY-RUT", "AU-ABN", "NZ-NZBN", "ZA-CPA",
)
