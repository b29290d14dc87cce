package automation

// CreatedRecord is createdRecord, for the external tests.
var CreatedRecord = createdRecord
