// Command argo-eval runs Argo Events' own Sensor code over GitHub deliveries, without a cluster:
// each dependency's filters (dependencies.Filter), each trigger's dependency expression (its `conditions`,
// else every dependency joined with &&, evaluated with govaluate as sensor-service does), and the k8s
// trigger's resource parameters (triggers.ApplyResourceParameters), exactly as sensor-service applies them.
//
// Input on stdin: {"sensor": <Sensor>, "deliveries": [{"event": "push", "id": "...", "payload": {...}}]}.
// Output on stdout: one result per delivery: {"matched": bool, "triggers": [names fired], "error": "...",
// "resource": {...}} where resource is what the first fired trigger would create.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Knetic/govaluate"

	"github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	"github.com/argoproj/argo-events/pkg/sensors/dependencies"
	"github.com/argoproj/argo-events/pkg/sensors/triggers"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

type delivery struct {
	Event   string                 `json:"event"`
	ID      string                 `json:"id"`
	Payload map[string]interface{} `json:"payload"`
}

type input struct {
	Sensor     v1alpha1.Sensor `json:"sensor"`
	Deliveries []delivery      `json:"deliveries"`
}

type result struct {
	Matched  bool                   `json:"matched"`
	Triggers []string               `json:"triggers,omitempty"`
	Error    string                 `json:"error,omitempty"`
	Resource map[string]interface{} `json:"resource,omitempty"`
}

// eventData is what the GitHub EventSource publishes: the headers, and the body with
// X-GitHub-Event and X-GitHub-Delivery copied into it.
func eventData(d delivery) ([]byte, error) {
	body := map[string]interface{}{}
	for k, v := range d.Payload {
		body[k] = v
	}
	body["X-GitHub-Event"] = d.Event
	body["X-GitHub-Delivery"] = d.ID
	headers := map[string][]string{"X-Github-Event": {d.Event}, "X-Github-Delivery": {d.ID}}
	return json.Marshal(map[string]interface{}{"headers": headers, "body": body})
}

// fires reports whether a trigger's dependency expression holds when exactly the dependencies in
// `matched` have an event, building the expression the way sensor-service's getDependencyExpression
// and its govaluate call do.
func fires(s *v1alpha1.Sensor, t v1alpha1.Trigger, matched map[string]*v1alpha1.Event) (bool, error) {
	expression := t.Template.Conditions
	if expression == "" {
		names := []string{}
		for _, dep := range s.Spec.Dependencies {
			names = append(names, dep.Name)
		}
		expression = strings.Join(names, "&&")
	}
	expr, err := govaluate.NewEvaluableExpression(strings.ReplaceAll(expression, "-", "\\-"))
	if err != nil {
		return false, err
	}
	params := map[string]interface{}{}
	for _, dep := range s.Spec.Dependencies {
		_, ok := matched[dep.Name]
		params[dep.Name] = ok
	}
	v, err := expr.Evaluate(params)
	if err != nil {
		return false, err
	}
	return v == true, nil
}

func evaluate(s *v1alpha1.Sensor, d delivery) result {
	data, err := eventData(d)
	if err != nil {
		return result{Error: err.Error()}
	}
	matched := map[string]*v1alpha1.Event{}
	for _, dep := range s.Spec.Dependencies {
		event := &v1alpha1.Event{
			Context: &v1alpha1.EventContext{
				ID: d.ID, Source: dep.EventSourceName, Subject: dep.EventName, Type: "github",
				DataContentType: "application/json", SpecVersion: "1.0", Time: metav1.Time{Time: time.Now()},
			},
			Data: data,
		}
		ok, err := dependencies.Filter(event, dep.Filters, dep.FiltersLogicalOperator)
		if err != nil {
			return result{Error: err.Error()}
		}
		if ok {
			matched[dep.Name] = event
		}
	}
	out := result{}
	for _, trigger := range s.Spec.Triggers {
		ok, err := fires(s, trigger, matched)
		if err != nil {
			return result{Error: err.Error()}
		}
		if !ok {
			continue
		}
		out.Matched = true
		out.Triggers = append(out.Triggers, trigger.Template.Name)
		if out.Resource != nil {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(trigger.Template.K8s.Source.Resource.Value); err != nil {
			out.Error = err.Error()
			return out
		}
		if err := triggers.ApplyResourceParameters(matched, trigger.Template.K8s.Parameters, obj); err != nil {
			out.Error = err.Error()
			return out
		}
		out.Resource = obj.Object
	}
	return out
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "argo-eval: bad input:", err)
		os.Exit(2)
	}
	if len(in.Sensor.Spec.Dependencies) == 0 || len(in.Sensor.Spec.Triggers) == 0 {
		fmt.Fprintln(os.Stderr, "argo-eval: expected dependencies and triggers")
		os.Exit(2)
	}
	out := make([]result, 0, len(in.Deliveries))
	for _, d := range in.Deliveries {
		out = append(out, evaluate(&in.Sensor, d))
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
