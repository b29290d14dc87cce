package vk

import (
	"context"

	"github.com/obmen/obmen/internal/automation"
)

// Names of the bundles' actions and their group.
const (
	ActionHistory = "vk.history_import"
	ActionProfile = "vk.profile_import"
	ActionGroup   = "vk"
)

// RecordInput names the lead, account or contact of an action.
type RecordInput struct {
	OwnerType string `json:"owner_type" auto:"required,enum=lead|account|contact"`
	OwnerID   int64  `json:"owner_id" auto:"required"`
}

// HistoryOutput is vk.history_import's output.
type HistoryOutput struct {
	Imported int `json:"imported"`
}

// ProfileOutput is vk.profile_import's output.
type ProfileOutput struct {
	Filled []string `json:"filled"`
}

// Actions are the bundles' VK actions: the card's "Загрузить историю из
// VK" and "Заполнить из профиля VK" as steps. Both are safe to repeat: a
// second import adds only what the first did not, a second profile
// import finds the fields filled.
func (s *Service) Actions() []automation.Action {
	return []automation.Action{
		automation.Define(automation.Spec{Name: ActionHistory, Group: ActionGroup, Writes: true},
			func(ctx context.Context, c *automation.Call, in RecordInput) (HistoryOutput, error) {
				if c.DryRun {
					return HistoryOutput{}, nil
				}
				n, err := s.ImportHistory(ctx, c.Actor, in.OwnerType, in.OwnerID)
				return HistoryOutput{Imported: n}, err
			}),
		automation.Define(automation.Spec{Name: ActionProfile, Group: ActionGroup, Writes: true},
			func(ctx context.Context, c *automation.Call, in RecordInput) (ProfileOutput, error) {
				if c.DryRun {
					return ProfileOutput{Filled: []string{}}, nil
				}
				f, err := s.ImportProfile(ctx, c.Actor, in.OwnerType, in.OwnerID)
				if f == nil {
					f = []string{}
				}
				return ProfileOutput{Filled: f}, err
			}),
	}
}
