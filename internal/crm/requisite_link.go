package crm

// RequisiteLink says which requisite and bank account of the client, and
// which of the seller's own (MC, "my company"), a deal or an invoice is
// made out with; 0 is none.
type RequisiteLink struct {
	Entity         string `json:"entity"`
	RecordID       int64  `json:"record_id"`
	RequisiteID    int64  `json:"requisite_id"`
	BankDetailID   int64  `json:"bank_detail_id"`
	MCRequisiteID  int64  `json:"mc_requisite_id"`
	MCBankDetailID int64  `json:"mc_bank_detail_id"`
}
