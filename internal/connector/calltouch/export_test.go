package calltouch

import (
	"context"
	"time"
)

// CreateDealForTest and UpdateDealForTest reach the unexported order.
func (c *Client) CreateDealForTest(ctx context.Context, callID int64, number, status string, revenue float64) (string, error) {
	ans, err := c.CreateDeal(ctx, DefaultCRM, order{OrderNumber: number, Status: status, Revenue: money(revenue),
		Matching: []map[string]any{{"type": "call", "callParams": map[string]any{"callId": callID}}}})
	if err != nil || len(ans.Data.Orders) == 0 {
		return "", err
	}
	return string(ans.Data.Orders[0].OrderID), nil
}

func (c *Client) UpdateDealForTest(ctx context.Context, number, status string) error {
	_, err := c.UpdateDeal(ctx, order{OrderNumber: number, Status: status})
	return err
}

// DaysForTest is days.
func DaysForTest(from, to time.Time, loc *time.Location) [][2]time.Time { return days(from, to, loc) }

// ErrorMessage is errorMessage, for its table test.
var ErrorMessage = errorMessage
